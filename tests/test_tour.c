/* test_tour.c — docs/TOUR.md cannot rot: every file and function it names exists.
 *
 * The tour links each stop to the code as Markdown links relative to docs/:
 *   [src/nn/resnet.c](../src/nn/resnet.c)                  the file must exist
 *   [`resnet_forward()`](../src/nn/resnet.c)               the file must DEFINE it
 *   [`fb_backend`](../include/freqbias/backend.h)          the file must contain it
 * A function (a name written with "()") counts as defined when a line that
 * starts in column 0 — how every definition and prototype in this code base
 * is written, while calls are indented — has the name followed by "(".
 * Any other backticked name must occur as a whole word. Links to the web
 * (http:, https:) and to anchors inside the tour are not checked; an
 * anchor after a file ("../README.md#limits") is dropped.
 *
 * A link whose text wraps onto the next line is refused (it would escape
 * the check). The checker prints each problem with its line in the tour.
 * A second test runs it on a copy of the tour with four broken links
 * appended and requires exactly those four to be reported, so the check
 * itself is known to fail when it should.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

typedef struct tour_check {
    int files, symbols;   /* links checked                                   */
    int problems;         /* missing files or symbols                        */
    char first[512];      /* the first problem, for the assertion message    */
} tour_check;

static int is_word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* 1 when text contains name as a whole word; with want_definition, only on
 * a line that starts in column 0 and with "(" right after the name. */
static int contains_symbol(const char *text, const char *name, int want_definition)
{
    size_t length = strlen(name);
    for (const char *hit = strstr(text, name); hit; hit = strstr(hit + 1, name)) {
        if ((hit > text && is_word_char(hit[-1])) || is_word_char(hit[length]))
            continue;
        if (!want_definition)
            return 1;
        const char *line = hit;
        while (line > text && line[-1] != '\n')
            line--;
        const char *after = hit + length;
        while (*after == ' ')
            after++;
        if (*after == '(' && !isspace((unsigned char)*line) && *line != '*' && *line != '/' &&
            *line != '#')
            return 1;
    }
    return 0;
}

static void report(tour_check *check, const char *tour, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void report(tour_check *check, const char *tour, int line, const char *format, ...)
{
    char message[400];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    printf("[tour] %s:%d: %s\n", tour, line, message);
    if (check->problems++ == 0)
        snprintf(check->first, sizeof check->first, "%s:%d: %s", tour, line, message);
}

/* One link [text](target) found on `line` of the tour. */
static void check_link(tour_check *check, const char *tour, const char *docs_dir, int line,
                       const char *text, size_t text_length, const char *target,
                       size_t target_length)
{
    char path[1024], name[128];
    if (target_length == 0 || target[0] == '#' || strncmp(target, "http:", 5) == 0 ||
        strncmp(target, "https:", 6) == 0 || strncmp(target, "mailto:", 7) == 0)
        return;
    size_t kept = strcspn(target, "#");
    if (kept > target_length)
        kept = target_length;
    snprintf(path, sizeof path, "%s/%.*s", docs_dir, (int)kept, target);
    struct stat info;
    check->files++;
    if (stat(path, &info) != 0) {
        report(check, tour, line, "links to %.*s, which does not exist", (int)kept, target);
        return;
    }
    /* a backticked identifier, optionally with "()": a symbol in that file */
    if (text_length < 3 || text[0] != '`' || text[text_length - 1] != '`')
        return;
    size_t name_length = text_length - 2;
    int function = name_length > 2 && text[text_length - 3] == '(' && text[text_length - 2] == ')';
    if (function)
        name_length -= 2;
    if (name_length == 0 || name_length >= sizeof name)
        return;
    memcpy(name, text + 1, name_length);
    name[name_length] = '\0';
    for (size_t i = 0; i < name_length; i++)
        if (!is_word_char(name[i]))
            return; /* `make check`, `--width`: words, not symbols */
    if (!S_ISREG(info.st_mode)) {
        report(check, tour, line, "`%s` is linked to %.*s, which is not a file", name, (int)kept,
               target);
        return;
    }
    size_t size;
    char *source = read_file(path, &size);
    check->symbols++;
    if (!source || !contains_symbol(source, name, function))
        report(check, tour, line, "%s `%s` in %.*s", function ? "no definition of" : "no mention of",
               name, (int)kept, target);
    free(source);
}

/* Checks every link of the Markdown file tour (paths relative to docs_dir). */
static tour_check check_tour(const char *tour, const char *docs_dir)
{
    tour_check check = {0};
    size_t size;
    char *text = read_file(tour, &size);
    if (!text) {
        report(&check, tour, 0, "cannot read the tour");
        return check;
    }
    int line = 1, in_code_block = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            line++;
            if (strncmp(p + 1, "```", 3) == 0)
                in_code_block = !in_code_block;
            continue;
        }
        if (in_code_block || *p != '[')
            continue;
        const char *close = strchr(p + 1, ']');
        const char *newline = strchr(p + 1, '\n');
        if (!close || close[1] != '(')
            continue;
        if (newline && newline < close) {
            /* a link whose text wraps would escape the check: refuse it */
            const char *second = strchr(newline + 1, '\n');
            if (!second || second > close)
                report(&check, tour, line, "a link's text wraps onto the next line; keep it on one line");
            continue;
        }
        const char *target = close + 2, *end = strchr(target, ')');
        if (!end || (newline && end > newline))
            continue;
        check_link(&check, tour, docs_dir, line, p + 1, (size_t)(close - p - 1), target,
                   (size_t)(end - target));
        p = end;
    }
    free(text);
    return check;
}

/* The repository root: the parent of ref_data (FREQBIAS_REF_DATA or "ref_data"). */
static const char *at_root(const char *relative)
{
    static char path[1024];
    const char *ref = ref_data_dir();
    const char *slash = strrchr(ref, '/');
    if (slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - ref), ref, relative);
    else
        snprintf(path, sizeof path, "%s", relative);
    return path;
}

static void test_every_named_symbol_exists(void **state)
{
    (void)state;
    char tour[1024], docs[1024];
    snprintf(tour, sizeof tour, "%s", at_root("docs/TOUR.md"));
    snprintf(docs, sizeof docs, "%s", at_root("docs"));
    tour_check check = check_tour(tour, docs);
    printf("[tour] %s: %d links to files checked, %d symbols looked up, %d missing\n", tour,
           check.files, check.symbols, check.problems);
    if (check.problems)
        fail_msg("%d broken links in the tour, first: %s", check.problems, check.first);
    /* the tour walks the whole step: far more than a handful of stops */
    assert_true(check.files >= 60 && check.symbols >= 50);
}

/* The checker on a broken copy: a missing file, a function that is not
 * defined where the link says, a name that does not exist at all, and a
 * link wrapped over two lines (which would otherwise go unchecked). */
static void test_checker_catches_rot(void **state)
{
    (void)state;
    size_t size;
    char *text = read_file(at_root("docs/TOUR.md"), &size);
    assert_non_null(text);
    const char *copy = in_work("TOUR.md");
    FILE *out = fopen(copy, "w");
    assert_non_null(out);
    fprintf(out, "%s\n", text);
    fprintf(out, "Broken on purpose: [gone](../src/nn/no_such_file.c),\n"
                 "[`resnet_forward()`](../src/nn/model.c) (only called there, defined in resnet.c),\n"
                 "[`resnet_forwards`](../src/nn/resnet.c), and a link whose text [wraps\n"
                 "here](../src/nn/resnet.c).\n");
    fclose(out);
    free(text);
    char docs[1024];
    snprintf(docs, sizeof docs, "%s", at_root("docs"));
    /* counted beyond the real tour's own problems, so this test says only
     * whether the checker works (the test above says whether the tour does) */
    tour_check real = check_tour(at_root("docs/TOUR.md"), docs);
    tour_check check = check_tour(copy, docs);
    printf("[tour] broken copy: %d problems reported beyond the tour's own %d (want 4)\n",
           check.problems - real.problems, real.problems);
    assert_int_equal(check.problems - real.problems, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_named_symbol_exists),
        cmocka_unit_test(test_checker_catches_rot),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
