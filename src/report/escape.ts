// Escaping for the two output languages: XML/HTML text (SVG labels, table cells, failure texts that may hold
// anything, `<script>` included) and Markdown table cells. Every string from results.json passes through here.

/** Characters XML 1.0 forbids outright (C0 controls other than tab, newline, carriage return; lone surrogates). */
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text or attribute value safe inside HTML and SVG: & < > " ' as entities, XML-invalid characters as U+FFFD. */
export function escapeXml(s: string): string {
  return s
    .replace(XML_INVALID, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * One line of Markdown that renders as the literal text: Markdown punctuation backslash-escaped (pipes too, for
 * tables), then & < > as entities (Markdown viewers render inline HTML), line breaks shown as ⏎. Quotes stay
 * as they are: entities like &#39; would themselves need escaping.
 */
export function escapeMarkdown(s: string): string {
  return s
    .replace(XML_INVALID, "\uFFFD")
    .replace(/[\\`*_[\]#|~]/g, (c) => `\\${c}`)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r\n|\r|\n/g, " ⏎ ")
    .replace(/\t/g, " ");
}

/** At most `max` characters (not splitting a surrogate pair), with a note of how many were cut. */
export function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  return `${chars.slice(0, max).join("")}… (${chars.length - max} more characters)`;
}
