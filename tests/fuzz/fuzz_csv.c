/* fuzz_csv.c — the report's CSV reader (csv_read: quotes, short rows, CR LF)
 * on arbitrary bytes, then every cell through the accessors. The table's
 * memory is proportional to the file (at most one field per byte). */
#include <stdint.h>

#include "fuzz.h"
#include "report/report_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(0, "input.csv", data, size);
    csv_table table;
    if (csv_read(path, &table) != FB_OK)
        return 0;
    fuzz_check(table.rows >= 0 && table.cols >= 1 && table.cols <= CSV_MAX_COLUMNS, "bad table size");
    fuzz_check(table.row_first[table.rows + 1] <= size + 1, "more fields than bytes");
    for (int c = 0; c < table.cols; c++) {
        const char *name = csv_header(&table, c);
        fuzz_check(name != NULL, "header cell missing");
        int found = csv_column(&table, name);
        fuzz_check(found >= 0 && found <= c, "header name not found");
    }
    /* every stored field and the first missing one of each row: work in
     * proportion to the fields, not rows × columns */
    for (int r = 0; r < table.rows; r++) {
        size_t stored = table.row_first[r + 2] - table.row_first[r + 1];
        fuzz_check(stored <= (size_t)table.cols, "a row keeps more fields than columns");
        for (int c = 0; c <= (int)stored && c < table.cols; c++)
            fuzz_check(csv_cell(&table, r, c) != NULL, "cell missing");
        if (stored < (size_t)table.cols)
            fuzz_check(*csv_cell(&table, r, (int)stored) == '\0', "a short row's missing cell is not empty");
        if (r < 8)
            (void)csv_number(&table, r, csv_header(&table, 0));
    }
    fuzz_check(*csv_cell(&table, table.rows, 0) == '\0', "a cell past the last row");
    csv_free(&table);
    return 0;
}
