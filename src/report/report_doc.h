/* report_doc.h — one document written twice: as Markdown (report.md, which
 * links its figures by relative path) and as self-contained HTML
 * (report.html, every PNG inlined as a base64 data: URI, so the one file
 * can be mailed or archived).
 *
 * Text given to doc_paragraph, list items and table cells may use two
 * inline marks, which both renderers understand: `code` and **bold**.
 * Everything else is escaped for HTML and written as is to Markdown.
 *
 *     report_doc doc;
 *     doc_init(&doc, "out/demo", "freqbias report");
 *     doc_heading(&doc, 2, "Feature discrimination");
 *     doc_paragraph(&doc, "top-1 on `X_h` at r = %d: %.3f", 12, 0.2);
 *     doc_image(&doc, "figures/accuracy_vs_r.png", "accuracy vs r");
 *     doc_finish(&doc, "out/demo/report.md", "out/demo/report.html");
 */
#ifndef FREQBIAS_CLI_REPORT_DOC_H
#define FREQBIAS_CLI_REPORT_DOC_H

#include <stddef.h>

#include "cli/cli_util.h"
#include "freqbias/error.h"


typedef struct report_doc {
    char base_dir[1024]; /* image paths are relative to it */
    cli_text md, html;
    int table_columns;
    int in_list;
} report_doc;

void doc_init(report_doc *doc, const char *base_dir, const char *title);
void doc_heading(report_doc *doc, int level, const char *format, ...) __attribute__((format(printf, 3, 4)));
void doc_paragraph(report_doc *doc, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* A preformatted block (commands): no inline marks. */
void doc_code(report_doc *doc, const char *text);
void doc_list_begin(report_doc *doc, int ordered);
void doc_list_item(report_doc *doc, const char *format, ...) __attribute__((format(printf, 2, 3)));
void doc_list_end(report_doc *doc);
void doc_table_begin(report_doc *doc, int columns, const char *const *headers);
void doc_table_row(report_doc *doc, const char *const *cells);
void doc_table_end(report_doc *doc);
/* A figure by its path relative to base_dir; a missing file becomes a
 * visible "figure missing" note in both documents. */
void doc_image(report_doc *doc, const char *relative_path, const char *caption);

/* Writes both files atomically and frees the document. */
fb_status doc_finish(report_doc *doc, const char *md_path, const char *html_path);

/* Standard base64 (RFC 4648, with '=' padding) of bytes into out, which
 * needs 4 * ((size + 2) / 3) + 1 bytes; returns the length written. */
size_t doc_base64(const unsigned char *bytes, size_t size, char *out);

#endif
