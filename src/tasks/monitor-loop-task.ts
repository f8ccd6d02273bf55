// The monitor loop's task name in `madkit bench --tasks`. The loop itself runs through the monitor service
// (src/loop/, started by the bench command); the benchmark's stages only know to leave the name to it.

export const MONITOR_LOOP_TASK = "monitor-loop";
