/* toykernel.c — the CDES toy model of the paper's Hypothesis I experiment.
 *
 * PyTorch: nn.Sequential(Conv2d(3, n, k, padding=k//2),     -> "conv1"
 *                        Conv2d(n, 3, k, padding=k//2))     -> "conv2"
 * Both with bias, no nonlinearity, no normaliser: a linear filter bank that
 * is trained so its output images get a target spectral density. Output has
 * the input's shape [N, 3, S, S]. The loss is computed by the caller, who
 * passes ∂L/∂output to backward.
 */
#include "model_internal.h"

void toykernel_build(fb_model *m)
{
    const fb_model_config *c = &m->config;
    int k = c->toy_kernel, S = c->image_size, N = c->max_batch;
    conv_unit_build(m, &m->toy[0], "conv1", NULL, c->in_channels, S, c->toy_filters, k, 1, k / 2, 1);
    conv_unit_build(m, &m->toy[1], "conv2", NULL, c->toy_filters, S, c->in_channels, k, 1, k / 2, 1);
    size_t hidden = conv_unit_out_floats(&m->toy[0], N);
    m->grad_buffers[0] = fb_arena_floats(&m->activations, hidden);
    m->input_grad = fb_arena_floats(&m->activations, (size_t)N * c->in_channels * S * S);
}

float *toykernel_forward(fb_model *m, const float *images, int n)
{
    conv_unit_forward(m, &m->toy[0], images, n, 0);
    conv_unit_forward(m, &m->toy[1], m->toy[0].out, n, 0);
    return m->toy[1].out;
}

void toykernel_backward(fb_model *m, const float *doutput, int want_input_grad)
{
    int n = m->batch;
    float *dhidden = m->grad_buffers[0];
    /* undoes: conv2 (no BN and no ReLU, so dout is only read) */
    conv_unit_backward(m, &m->toy[1], dhidden, (float *)doutput, NULL, n, 0);
    /* undoes: conv1 */
    conv_unit_backward(m, &m->toy[0], want_input_grad ? m->input_grad : NULL, dhidden, NULL, n, 0);
}
