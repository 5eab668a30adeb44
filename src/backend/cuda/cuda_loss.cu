/* cuda_loss.cu — softmax cross-entropy (mean over the batch) on the GPU.
 *
 * PyTorch: F.cross_entropy(logits, labels) (reduction='mean') and its
 * gradient (softmax(logits) − onehot(labels)) / N.
 *
 * Shapes: logits, probs, dlogits [N, K]; labels [N] int32 on the device;
 * loss [1] on the device.
 *
 * Forward: one block of 1024 threads. Thread t owns rows t, t + 1024, ...;
 * each row is kernels.h's cross_entropy_row (max subtraction, exp and the
 * log-sum in double, probs written as floats), the thread adds its rows'
 * losses in order in double, and the block adds the 1024 partials in a fixed
 * tree: one fixed order, no atomics, so the loss has the same bits on every
 * run (it differs from cpu-ref's serial sum in the last double bits only;
 * exp/log are CUDA's double functions, within 1–2 ulp of glibc's).
 * Backward: one thread per element, the float expression of kernels.h:
 * bit-identical to cpu-ref for the same probs.
 * A shard of a batch (MPI ranks, batch_view.h): the forward's double sum
 * over this shard's rows is combined with the other ranks' through the host
 * (fb_cuda_combine_sums) and the mean divides by the whole batch's size;
 * the backward divides by it too.
 */
#include "backend/cuda/cuda_internal.cuh"
#include "backend/kernels.h"

/* *sum = Σ of the rows' losses (probs written on the way); loss[0] =
 * *sum / divisor, the mean when this call holds the whole batch */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
cross_entropy_kernel(float *loss, double *sum, float *probs, const float *logits,
                     const int32_t *labels, int batch, int classes, int divisor)
{
    double total = 0.0;
    for (int n = threadIdx.x; n < batch; n += blockDim.x)
        total += cross_entropy_row(probs + (size_t)n * classes, logits + (size_t)n * classes, labels[n],
                                   classes);
    total = fb_block_sum(total);
    if (threadIdx.x == 0) {
        *sum = total;
        loss[0] = (float)(total / divisor);
    }
}

/* divisor: the whole batch's size (batch when the call holds all of it) */
static __global__ void cross_entropy_backward_kernel(float *dlogits, const float *probs,
                                                     const int32_t *labels, int batch, int classes,
                                                     int divisor)
{
    const size_t total = (size_t)batch * classes;
    GRID_STRIDE_LOOP(i, total) {
        int n = (int)(i / classes), k = (int)(i % classes);
        dlogits[i] = cross_entropy_grad(probs[i], k == labels[n], divisor);
    }
}

void fb_cuda_cross_entropy_forward(float *loss, float *probs, const float *logits,
                                   const int32_t *labels, int batch, int classes,
                                   const fb_batch_view *view)
{
    if (batch < 1 || classes < 1)
        return;
    const int total = fb_batch_view_total(view, batch);
    double *sum = fb_cuda_sum_scratch(1); /* [1] */
    cross_entropy_kernel<<<1, FB_CUDA_REDUCE_THREADS>>>(loss, sum, probs, logits, labels, batch,
                                                        classes, total);
    LAUNCH_CHECK();
    if (view && view->combine) {
        double whole = 0.0;
        fb_cuda_to_host(&whole, sum, sizeof whole);
        fb_batch_view_combine(view, &whole, 1);
        float mean = (float)(whole / total);
        fb_cuda_to_device(loss, &mean, sizeof mean);
    }
}

void fb_cuda_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *labels,
                                    int batch, int classes, const fb_batch_view *view)
{
    size_t total = (size_t)batch * classes;
    if (!total)
        return;
    cross_entropy_backward_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(
        dlogits, probs, labels, batch, classes, fb_batch_view_total(view, batch));
    LAUNCH_CHECK();
}
