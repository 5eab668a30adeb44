/* report_paper.h — the paper's published numbers that the report prints
 * beside ours (PAPER.md). Only the CDES table (E3) has numbers; Fig. 1,
 * Fig. 3, the gradient heat maps and the HARS result are published as
 * figures or statements only, and the report says so instead of inventing
 * numbers for them.
 */
#ifndef FREQBIAS_CLI_REPORT_PAPER_H
#define FREQBIAS_CLI_REPORT_PAPER_H

#define PAPER_CDES_RADII 5

/* High-pass radii of the CDES table. */
static const double paper_cdes_radii[PAPER_CDES_RADII] = {10, 12, 14, 16, 18};

/* Top-1 (%) on X_h^(r): rows f_scr, f_wcr, f_baseline (PAPER.md E3). */
static const double paper_cdes_top1[3][PAPER_CDES_RADII] = {
    {79.0, 68.2, 42.4, 30.4, 30.9},
    {20.4, 15.5, 12.8, 10.0, 10.0},
    {43.2, 27.2, 14.3, 10.5, 8.3},
};

#endif
