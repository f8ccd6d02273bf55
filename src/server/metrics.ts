// Prometheus text-format metrics kept in memory: requests by route and status, a request-latency histogram,
// the detector's own time (so its share of latency is visible), flagged inputs, and queue depth (read from
// the store at scrape time).

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) this.counts[i]!++;
  }
  render(name: string, labels = ""): string[] {
    const sep = labels ? `${labels},` : "";
    const lines = BUCKETS.map((b, i) => `${name}_bucket{${sep}le="${b}"} ${this.counts[i]}`);
    lines.push(`${name}_bucket{${sep}le="+Inf"} ${this.count}`);
    const l = labels ? `{${labels}}` : "";
    lines.push(`${name}_sum${l} ${this.sum}`, `${name}_count${l} ${this.count}`);
    return lines;
  }
}

export class MonitorMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  readonly detector = new Histogram();
  readonly model = new Histogram();
  flagged = 0;
  scored = 0;
  /** Detector calls made by the score batcher, and the inputs they scored (rows / batches = mean batch size). */
  scoreBatches = 0;
  scoreBatchRows = 0;
  rejectedOverload = 0;
  /** Requests answered 429: a token past its rate, or a score request while the review queue is full. */
  rejectedRate = 0;
  rejectedQueueFull = 0;
  /** Requests whose client went away before the answer was sent: not server errors, counted apart. */
  private readonly aborted = new Map<string, number>();

  observeAborted(method: string, route: string): void {
    const key = `method="${method}",route="${route}"`;
    this.aborted.set(key, (this.aborted.get(key) ?? 0) + 1);
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `method="${method}",route="${route}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const lk = `route="${route}"`;
    let h = this.latency.get(lk);
    if (!h) this.latency.set(lk, (h = new Histogram()));
    h.observe(seconds);
  }

  render(queueDepth: number): string {
    const out: string[] = [];
    out.push("# HELP madkit_http_requests_total HTTP requests by method, route and status.", "# TYPE madkit_http_requests_total counter");
    for (const [k, v] of this.requests) out.push(`madkit_http_requests_total{${k}} ${v}`);
    out.push("# HELP madkit_http_requests_aborted_total Requests whose client closed the connection before the answer was sent (not in madkit_http_requests_total).", "# TYPE madkit_http_requests_aborted_total counter");
    for (const [k, v] of this.aborted) out.push(`madkit_http_requests_aborted_total{${k}} ${v}`);
    out.push("# HELP madkit_http_request_duration_seconds Request latency in the server.", "# TYPE madkit_http_request_duration_seconds histogram");
    for (const [k, h] of this.latency) out.push(...h.render("madkit_http_request_duration_seconds", k));
    out.push("# HELP madkit_detector_duration_seconds Time spent in the detector bundle (scoring + explanation + probe) per call; concurrent inputs share one call.", "# TYPE madkit_detector_duration_seconds histogram");
    out.push(...this.detector.render("madkit_detector_duration_seconds"));
    out.push("# HELP madkit_model_duration_seconds Time spent running the model on text inputs, per batch.", "# TYPE madkit_model_duration_seconds histogram");
    out.push(...this.model.render("madkit_model_duration_seconds"));
    out.push("# HELP madkit_score_batches_total Detector calls made for the score route (inputs of concurrent requests are scored together).", "# TYPE madkit_score_batches_total counter", `madkit_score_batches_total ${this.scoreBatches}`);
    out.push("# HELP madkit_score_batch_inputs_total Inputs scored by those calls (divided by the calls: the mean batch size).", "# TYPE madkit_score_batch_inputs_total counter", `madkit_score_batch_inputs_total ${this.scoreBatchRows}`);
    out.push("# HELP madkit_scored_total Inputs scored.", "# TYPE madkit_scored_total counter", `madkit_scored_total ${this.scored}`);
    out.push("# HELP madkit_flagged_total Inputs flagged and queued for review.", "# TYPE madkit_flagged_total counter", `madkit_flagged_total ${this.flagged}`);
    out.push("# HELP madkit_overload_rejections_total Requests answered 503 because the concurrency limit was reached.", "# TYPE madkit_overload_rejections_total counter", `madkit_overload_rejections_total ${this.rejectedOverload}`);
    out.push("# HELP madkit_rate_limited_total Requests answered 429 because their token exceeded its rate.", "# TYPE madkit_rate_limited_total counter", `madkit_rate_limited_total ${this.rejectedRate}`);
    out.push("# HELP madkit_queue_full_rejections_total Score requests answered 429 because the review queue was at its cap.", "# TYPE madkit_queue_full_rejections_total counter", `madkit_queue_full_rejections_total ${this.rejectedQueueFull}`);
    out.push("# HELP madkit_queue_depth Flagged items waiting for a label.", "# TYPE madkit_queue_depth gauge", `madkit_queue_depth ${queueDepth}`);
    return `${out.join("\n")}\n`;
  }
}
