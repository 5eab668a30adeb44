/* report_doc.c — the Markdown + HTML document builder of `freqbias report`
 * (see report_doc.h), with its base64 encoder.
 *
 * base64: every 3 input bytes (24 bits) become 4 characters of 6 bits each
 * from the alphabet A–Z a–z 0–9 + /; a final group of 1 or 2 bytes is
 * padded with zero bits and written with "==" or "=".
 */
#include "report_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"

size_t doc_base64(const unsigned char *bytes, size_t size, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < size; i += 3) {
        unsigned long group = (unsigned long)bytes[i] << 16;
        if (i + 1 < size)
            group |= (unsigned long)bytes[i + 1] << 8;
        if (i + 2 < size)
            group |= bytes[i + 2];
        out[o++] = alphabet[(group >> 18) & 63];
        out[o++] = alphabet[(group >> 12) & 63];
        out[o++] = i + 1 < size ? alphabet[(group >> 6) & 63] : '=';
        out[o++] = i + 2 < size ? alphabet[group & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* HTML with the inline marks `code`, **bold** and *italic* turned into tags. */
static void add_inline_html(cli_text *html, const char *text)
{
    int code = 0, bold = 0, italic = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '`') {
            cli_text_add(html, code ? "</code>" : "<code>");
            code = !code;
        } else if (!code && p[0] == '*' && p[1] == '*') {
            cli_text_add(html, bold ? "</b>" : "<b>");
            bold = !bold;
            p++;
        } else if (!code && *p == '*') {
            cli_text_add(html, italic ? "</i>" : "<i>");
            italic = !italic;
        } else if (*p == '<') {
            cli_text_add(html, "&lt;");
        } else if (*p == '>') {
            cli_text_add(html, "&gt;");
        } else if (*p == '&') {
            cli_text_add(html, "&amp;");
        } else if (*p == '"') {
            cli_text_add(html, "&quot;");
        } else {
            cli_text_add(html, "%c", *p);
        }
    }
    if (code)
        cli_text_add(html, "</code>");
    if (bold)
        cli_text_add(html, "</b>");
    if (italic)
        cli_text_add(html, "</i>");
}

static void add_escaped_html(cli_text *html, const char *text)
{
    for (const char *p = text; *p; p++)
        cli_text_add(html, "%s", *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : (char[2]){*p, 0});
}

void doc_init(report_doc *doc, const char *base_dir, const char *title)
{
    memset(doc, 0, sizeof *doc);
    snprintf(doc->base_dir, sizeof doc->base_dir, "%s", base_dir);
    cli_text_add(&doc->html,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    add_escaped_html(&doc->html, title);
    cli_text_add(&doc->html,
                 "</title>\n<style>\n"
                 "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}\n"
                 "table{border-collapse:collapse;margin:0.8em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}\n"
                 "th{background:#eee}td:first-child,th:first-child{text-align:left}\n"
                 "code,pre{background:#f4f4f4;font-size:90%%}pre{padding:0.6em;overflow-x:auto;white-space:pre-wrap}\n"
                 "figure{margin:1em 0}img{max-width:100%%;border:1px solid #ddd}figcaption{font-size:90%%;color:#555}\n"
                 ".missing{color:#a00}\n</style>\n</head>\n<body>\n");
    doc_heading(doc, 1, "%s", title);
}

void doc_heading(report_doc *doc, int level, const char *format, ...)
{
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    cli_text_add(&doc->md, "%.*s %s\n\n", level, "######", text);
    cli_text_add(&doc->html, "<h%d>", level);
    add_inline_html(&doc->html, text);
    cli_text_add(&doc->html, "</h%d>\n", level);
}

void doc_paragraph(report_doc *doc, const char *format, ...)
{
    char text[8192];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    cli_text_add(&doc->md, "%s\n\n", text);
    cli_text_add(&doc->html, "<p>");
    add_inline_html(&doc->html, text);
    cli_text_add(&doc->html, "</p>\n");
}

void doc_code(report_doc *doc, const char *text)
{
    cli_text_add(&doc->md, "```\n%s\n```\n\n", text);
    cli_text_add(&doc->html, "<pre>");
    add_escaped_html(&doc->html, text);
    cli_text_add(&doc->html, "</pre>\n");
}

void doc_list_begin(report_doc *doc, int ordered)
{
    doc->in_list = ordered ? 2 : 1;
    cli_text_add(&doc->html, ordered ? "<ol>\n" : "<ul>\n");
}

void doc_list_item(report_doc *doc, const char *format, ...)
{
    char text[4096];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    cli_text_add(&doc->md, "%s %s\n", doc->in_list == 2 ? "1." : "-", text);
    cli_text_add(&doc->html, "<li>");
    add_inline_html(&doc->html, text);
    cli_text_add(&doc->html, "</li>\n");
}

void doc_list_end(report_doc *doc)
{
    cli_text_add(&doc->md, "\n");
    cli_text_add(&doc->html, doc->in_list == 2 ? "</ol>\n" : "</ul>\n");
    doc->in_list = 0;
}

/* A Markdown table cell: '|' escaped, newlines as spaces. */
static void add_md_cell(cli_text *md, const char *text)
{
    cli_text_add(md, " ");
    for (const char *p = text; *p; p++)
        cli_text_add(md, "%s", *p == '|' ? "\\|" : *p == '\n' ? " " : (char[2]){*p, 0});
    cli_text_add(md, " |");
}

void doc_table_begin(report_doc *doc, int columns, const char *const *headers)
{
    doc->table_columns = columns;
    cli_text_add(&doc->md, "|");
    cli_text_add(&doc->html, "<table>\n<tr>");
    for (int c = 0; c < columns; c++) {
        add_md_cell(&doc->md, headers[c]);
        cli_text_add(&doc->html, "<th>");
        add_inline_html(&doc->html, headers[c]);
        cli_text_add(&doc->html, "</th>");
    }
    cli_text_add(&doc->md, "\n|");
    for (int c = 0; c < columns; c++)
        cli_text_add(&doc->md, "%s", c == 0 ? "---|" : "---:|");
    cli_text_add(&doc->md, "\n");
    cli_text_add(&doc->html, "</tr>\n");
}

void doc_table_row(report_doc *doc, const char *const *cells)
{
    cli_text_add(&doc->md, "|");
    cli_text_add(&doc->html, "<tr>");
    for (int c = 0; c < doc->table_columns; c++) {
        add_md_cell(&doc->md, cells[c]);
        cli_text_add(&doc->html, "<td>");
        add_inline_html(&doc->html, cells[c]);
        cli_text_add(&doc->html, "</td>");
    }
    cli_text_add(&doc->md, "\n");
    cli_text_add(&doc->html, "</tr>\n");
}

void doc_table_end(report_doc *doc)
{
    cli_text_add(&doc->md, "\n");
    cli_text_add(&doc->html, "</table>\n");
    doc->table_columns = 0;
}

void doc_image(report_doc *doc, const char *relative_path, const char *caption)
{
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", doc->base_dir, relative_path);
    FILE *f = fopen(path, "rb");
    unsigned char *bytes = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (bytes = malloc((size_t)size)) && fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    if (f)
        fclose(f);
    if (!bytes) {
        cli_text_add(&doc->md, "*(figure missing: `%s` — its stage did not run)*\n\n", relative_path);
        cli_text_add(&doc->html, "<p class=\"missing\">(figure missing: ");
        add_escaped_html(&doc->html, relative_path);
        cli_text_add(&doc->html, " — its stage did not run)</p>\n");
        return;
    }
    cli_text_add(&doc->md, "![%s](%s)\n\n*%s* (`%s`)\n\n", caption, relative_path, caption, relative_path);
    char *encoded = malloc(4 * (((size_t)size + 2) / 3) + 1);
    if (!encoded) {
        doc->html.failed = 1;
        free(bytes);
        return;
    }
    doc_base64(bytes, (size_t)size, encoded);
    cli_text_add(&doc->html, "<figure><img alt=\"");
    add_escaped_html(&doc->html, caption);
    cli_text_add(&doc->html, "\" src=\"data:image/png;base64,%s\"><figcaption>", encoded);
    add_inline_html(&doc->html, caption);
    cli_text_add(&doc->html, " (<code>");
    add_escaped_html(&doc->html, relative_path);
    cli_text_add(&doc->html, "</code>)</figcaption></figure>\n");
    free(encoded);
    free(bytes);
}

fb_status doc_finish(report_doc *doc, const char *md_path, const char *html_path)
{
    cli_text_add(&doc->html, "</body>\n</html>\n");
    fb_status status = FB_OK;
    if (doc->md.failed || doc->html.failed || !doc->md.data || !doc->html.data)
        status = fb_error(FB_ERR_NOMEM, "%s: out of memory while writing the report", md_path);
    if (status == FB_OK)
        status = cli_write_text(md_path, doc->md.data);
    if (status == FB_OK)
        status = cli_write_text(html_path, doc->html.data);
    cli_text_free(&doc->md);
    cli_text_free(&doc->html);
    return status;
}
