/* mask.c — frequency masks on the shifted spectrum (PAPER.md C1, C3).
 *
 * Every mask is a float [H, W] array of 0s and 1s laid over
 * fftshift(fft2(x)), where the DC coefficient sits at (H/2, W/2) (integer
 * division; for odd sizes too, as np.fft.fftshift rolls by floor(n/2)).
 *
 * C1 radial masks (HARS, the filtered test sets X_l^(r), X_h^(r)):
 *   d(i,j) = sqrt((i − H/2)² + (j − W/2)²)
 *   low_r  = [d < r]   (strict: r = 4 keeps 45 coefficients at 32×32)
 *   high_r = 1 − low_r, band(r1,r2) = [r1 ≤ d < r2]
 * numpy: d = np.hypot(*np.ogrid[:H, :W] − [H//2, W//2]); (d < r).astype(np.float32).
 * d is compared as sqrt of the exact integer d² in double, the same rounding
 * as numpy's, so the masks are identical for any real r.
 *
 * C3, the seed's CDES recombination masks: the seed computes distances in the
 * top-left quadrant only and mirrors it up-down, then left-right, so the mask
 * is symmetric about ((H−1)/2, (W−1)/2), and uses low = [d ≤ r],
 * high = [r + 1 ≤ d ≤ H]. The closed form used here is in spectrum.h.
 *
 * Hermitian symmetry: for real x, X[−k] = conj(X[k]). In the shifted layout
 * the partner of row s is s' = (2·(H/2) − s) mod H (derivation in
 * spectrum.h), and a mask keeps the masked spectrum Hermitian — so the
 * inverse real — iff m[s,t] = m[s',t']. The C1 masks are (d is unchanged by
 * s → s'); the C3 masks are not (their centre is 15.5, not 16).
 */
#include <math.h>

#include "freqbias/spectrum.h"

static int check_plane(const char *what, int h, int w)
{
    if (h < 1 || w < 1 || (long long)h * w > (1LL << 26)) {
        fb_error(FB_ERR_USAGE, "%s: mask shape %dx%d is not supported", what, h, w);
        return 0;
    }
    return 1;
}

/* Squared distance of (i, j) from the DC bin, exact in integers. */
static long long dist2_dc(int i, int j, int h, int w)
{
    long long di = i - h / 2, dj = j - w / 2;
    return di * di + dj * dj;
}

int fb_mask_band(float *mask, int h, int w, double r1, double r2)
{
    if (!check_plane("fb_mask_band", h, w))
        return -1;
    if (isnan(r1) || isnan(r2)) {
        fb_error(FB_ERR_USAGE, "fb_mask_band: radius is NaN");
        return -1;
    }
    int ones = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double d = sqrt((double)dist2_dc(i, j, h, w));
            int in = d >= r1 && d < r2;
            mask[(size_t)i * w + j] = in ? 1.0f : 0.0f;
            ones += in;
        }
    return ones;
}

int fb_mask_low(float *mask, int h, int w, double r)
{
    return fb_mask_band(mask, h, w, -INFINITY, r);
}

int fb_mask_high(float *mask, int h, int w, double r)
{
    return fb_mask_band(mask, h, w, r, INFINITY);
}

/* The seed's quadrant distance along one axis of size n: for index i, the
 * top-left index it mirrors, a = i (i < c) or n−1−i (i > n−1−c), and the
 * distance c − a; −1 for the middle index of an odd n, which no quadrant
 * covers. c = n/2. */
static int cdes_axis_distance(int i, int n)
{
    int c = n / 2;
    if (i < c)
        return c - i;
    if (i > n - 1 - c)
        return c - (n - 1 - i);
    return -1;
}

fb_status fb_mask_cdes(float *low, float *high, int h, int w, int r, int *low_count,
                       int *high_count)
{
    if (!check_plane("fb_mask_cdes", h, w))
        return FB_ERR_USAGE;
    if (r < 0)
        return fb_error(FB_ERR_USAGE, "fb_mask_cdes: negative radius %d", r);
    int nl = 0, nh = 0;
    long long lo2 = (long long)r * r, hi1 = (long long)(r + 1) * (r + 1), hi2 = (long long)h * h;
    for (int i = 0; i < h; i++) {
        int di = cdes_axis_distance(i, h);
        for (int j = 0; j < w; j++) {
            int dj = cdes_axis_distance(j, w);
            int is_low = 0, is_high = 0;
            if (di >= 0 && dj >= 0) {
                long long d2 = (long long)di * di + (long long)dj * dj;
                is_low = d2 <= lo2;
                is_high = d2 >= hi1 && d2 <= hi2;
            }
            if (low)
                low[(size_t)i * w + j] = is_low ? 1.0f : 0.0f;
            if (high)
                high[(size_t)i * w + j] = is_high ? 1.0f : 0.0f;
            nl += is_low;
            nh += is_high;
        }
    }
    if (low_count)
        *low_count = nl;
    if (high_count)
        *high_count = nh;
    return FB_OK;
}

int fb_mask_count(const float *mask, int h, int w)
{
    int ones = 0;
    for (size_t p = 0; p < (size_t)h * (size_t)w; p++)
        ones += mask[p] != 0.0f;
    return ones;
}

int fb_mask_hermitian_violations(const float *mask, int h, int w)
{
    int bad = 0;
    for (int s = 0; s < h; s++) {
        int s2 = (2 * (h / 2) - s + h) % h;
        for (int t = 0; t < w; t++) {
            int t2 = (2 * (w / 2) - t + w) % w;
            bad += mask[(size_t)s * w + t] != mask[(size_t)s2 * w + t2];
        }
    }
    return bad;
}
