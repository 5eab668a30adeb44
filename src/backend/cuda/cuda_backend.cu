/* cuda_backend.cu — the op table of the CUDA backend (freqbias/backend.h),
 * gathered from the files that implement one op family each:
 *
 *   cuda_runtime.cu      alloc, release, to_device, to_host, zero; cuBLAS
 *   cuda_conv.cu         conv2d forward, backward data, backward filter
 *   cuda_batchnorm.cu    BatchNorm2d train / eval forward and backwards
 *   cuda_elementwise.cu  ReLU, add, input normaliser, SGD step
 *   cuda_pool_linear.cu  average pooling, linear layer, bias gradients
 *   cuda_loss.cu         softmax cross-entropy
 *   cuda_fft.cu          cuFFT for the spectrum code (not in the table)
 *
 * PyTorch equivalent: the same model code with .to("cuda") and
 * torch.backends.cuda.matmul.allow_tf32 = False. The table is complete (no
 * NULL entry), which fb_backend_check and tests/test_cuda.c verify.
 * fb_backend_by_name("cuda") hands it out only when a device is present.
 */
#include "backend/cuda/cuda_internal.cuh"

/* C++ needs the entries in declaration order; they are. */
extern "C" const fb_backend fb_backend_cuda = {
    .name = "cuda",
    .device_memory = 1,
    .alloc = fb_cuda_alloc,
    .release = fb_cuda_release,
    .to_device = fb_cuda_to_device,
    .to_host = fb_cuda_to_host,
    .zero = fb_cuda_zero,
    .conv2d_workspace = fb_cuda_conv2d_workspace,
    .conv2d_forward = fb_cuda_conv2d_forward,
    .conv2d_backward_data = fb_cuda_conv2d_backward_data,
    .conv2d_backward_filter = fb_cuda_conv2d_backward_filter,
    .batchnorm_forward_train = fb_cuda_batchnorm_forward_train,
    .batchnorm_forward_eval = fb_cuda_batchnorm_forward_eval,
    .batchnorm_backward = fb_cuda_batchnorm_backward,
    .batchnorm_backward_eval = fb_cuda_batchnorm_backward_eval,
    .relu_forward = fb_cuda_relu_forward,
    .relu_backward = fb_cuda_relu_backward,
    .add = fb_cuda_add,
    .avgpool_forward = fb_cuda_avgpool_forward,
    .avgpool_backward = fb_cuda_avgpool_backward,
    .linear_forward = fb_cuda_linear_forward,
    .linear_backward = fb_cuda_linear_backward,
    .normalize_forward = fb_cuda_normalize_forward,
    .normalize_backward = fb_cuda_normalize_backward,
    .cross_entropy_forward = fb_cuda_cross_entropy_forward,
    .cross_entropy_backward = fb_cuda_cross_entropy_backward,
    .sgd_step = fb_cuda_sgd_step,
};
