// Gated LIF (GLIF): fused multi-step forward and backward.
//
// Equations (jelly.neurons.functional.gated_lif, evaluated in the reference's order; every
// gate is the sigmoid of a learned parameter, one value per channel, s[-1] = spike_init):
//     k = 1 - alpha (1 - tau),   F[t] = 1 - beta (1 - g[t])
//     u[t] = (k u[t-1] - (1 - alpha) ld) + x[t] F[t]
//     u[t] = (u[t] - k u[t-1] gamma s[t-1]) - (1 - gamma) v_sr s[t-1]
//     s[t] = (u[t] >= v_th)
// The reset is lazy (it acts through s[t-1] on the next step), so u[t] is both the output
// and what the backward reads; it is stored rounded towards the side of v_th its spike was
// decided on (store_charged), so (u_seq >= v_th) == spike_seq holds in every dtype.
//
// Layout: tensors [T, numel] contiguous; element i is in channel (i / inner) % channels.
// gates is float32 [7, channels] (alpha, beta, gamma, tau, v_th, ld, v_sr), conduct is
// float32 [T, channels]. A thread owns V consecutive elements of one channel.
//
// Backward (U, S the total gradients of u[t], s[t]; sigma = g'(u - v_th); p = 1 - gamma s[t-1]):
//     S[t] = grad_s[t] - U[t+1] (k gamma u[t] + (1 - gamma) v_sr)
//     U[t] = grad_u[t] + U[t+1] k p[t+1] + S[t] sigma[t]
//     grad_x[t] = U[t] F[t],   grad_u_init = U[0] k p[0],
//     grad_s_init = -U[0] (k gamma u_init + (1 - gamma) v_sr)
// The gate gradients are sums over elements (and steps); each thread writes its partial
// sums (over its V elements) to partial[row, thread], rows:
//     0 .. T-1   sum U[t] x[t]                     (dL/dg[t] = beta * this)
//     T + 0      sum_t U u[t-1] p                  (dL/dk)
//     T + 1      sum_t U                           (for alpha, ld)
//     T + 2      sum_t U s[t-1] (v_sr - k u[t-1])  (dL/dgamma)
//     T + 3      sum_t U s[t-1]                    (dL/dv_sr = -(1 - gamma) this)
//     T + 4      sum_t U x (1 - g[t])              (dL/dbeta = -this)
//     T + 5      sum_t S sigma                     (dL/dv_th = -this)
// and the Python side reduces them per channel with torch (gated_lif.py).
#include "neuron_common.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

// Number of per-thread partial rows besides the T conductance rows.
constexpr int kGLIFGateRows = 6;

struct GLIFChannel {
    float alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset;
    float leak;      // k = 1 - alpha (1 - tau)
    float linear;    // (1 - alpha) ld
    float subreset;  // (1 - gamma) v_sr

    JELLY_HD static GLIFChannel load(const float* __restrict__ gates, int channels, int channel) {
        GLIFChannel c;
        c.alpha = gates[0 * channels + channel];
        c.beta = gates[1 * channels + channel];
        c.gamma = gates[2 * channels + channel];
        c.tau = gates[3 * channels + channel];
        c.v_threshold = gates[4 * channels + channel];
        c.linear_decay = gates[5 * channels + channel];
        c.v_subreset = gates[6 * channels + channel];
        c.leak = 1.0f - c.alpha * (1.0f - c.tau);
        c.linear = (1.0f - c.alpha) * c.linear_decay;
        c.subreset = (1.0f - c.gamma) * c.v_subreset;
        return c;
    }
};

JELLY_HD int glif_channel(index_t first, index_t inner, int channels) {
    return static_cast<int>((first / inner) % channels);
}

template <typename T, int V>
JELLY_HD void gated_lif_forward_thread(index_t thread, const T* __restrict__ x_seq, const T* __restrict__ u_init,
                                       const T* __restrict__ s_init, const float* __restrict__ gates,
                                       const float* __restrict__ conduct, T* __restrict__ spike_seq,
                                       T* __restrict__ u_seq, index_t inner, int channels, index_t numel,
                                       int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    const int channel = glif_channel(first, inner, channels);
    const GLIFChannel c = GLIFChannel::load(gates, channels, channel);
    float u[V], s[V];
    const Pack<T, V> u0 = load_pack<T, V>(u_init, first), s0 = load_pack<T, V>(s_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        u[j] = load(u0.e[j]);
        s[j] = load(s0.e[j]);
    }
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const float factor = 1.0f - c.beta * (1.0f - conduct[t * channels + channel]);
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, u_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float leaked = c.leak * u[j];
            float next = (leaked - c.linear) + load(x.e[j]) * factor;
            next = (next - leaked * c.gamma * s[j]) - c.subreset * s[j];
            const bool spike = next >= c.v_threshold;
            u_out.e[j] = store_charged<T>(next, spike, c.v_threshold);
            s_out.e[j] = store<T>(spike ? 1.0f : 0.0f);
            u[j] = next;
            s[j] = spike ? 1.0f : 0.0f;
        }
        store_pack<T, V>(spike_seq, offset, s_out);
        store_pack<T, V>(u_seq, offset, u_out);
    }
}

// grad_spike_seq and grad_u_seq may be null (no gradient flows into that output).
// partial is float32 [steps + kGLIFGateRows, ceil(numel / V)] (see the file header).
template <class Surrogate, typename T, int V>
JELLY_HD void gated_lif_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                        const T* __restrict__ grad_u_seq, const T* __restrict__ x_seq,
                                        const T* __restrict__ u_seq, const T* __restrict__ u_init,
                                        const T* __restrict__ s_init, const float* __restrict__ gates,
                                        const float* __restrict__ conduct, T* __restrict__ grad_x_seq,
                                        T* __restrict__ grad_u_init, T* __restrict__ grad_s_init,
                                        float* __restrict__ partial, const Surrogate& surrogate, index_t inner,
                                        int channels, index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return;
    const index_t threads = (numel + V - 1) / V;
    const int channel = glif_channel(first, inner, channels);
    const GLIFChannel c = GLIFChannel::load(gates, channels, channel);
    float carry_u[V], carry_s[V], u_cur[V];
    float acc_leak = 0.0f, acc_u = 0.0f, acc_gamma = 0.0f, acc_subreset = 0.0f, acc_beta = 0.0f, acc_th = 0.0f;
    const Pack<T, V> u_last = load_pack<T, V>(u_seq, static_cast<index_t>(steps - 1) * numel + first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        carry_u[j] = 0.0f;  // U[t+1] k p[t+1]
        carry_s[j] = 0.0f;  // -U[t+1] (k gamma u[t] + (1 - gamma) v_sr)
        u_cur[j] = load(u_last.e[j]);
    }
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const float g = conduct[t * channels + channel];
        const float factor = 1.0f - c.beta * (1.0f - g);
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> gs, gu, gx, up, sp;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_u_seq != nullptr) gu = load_pack<T, V>(grad_u_seq, offset);
        if (t > 0) {
            up = load_pack<T, V>(u_seq, offset - numel);
        } else {
            up = load_pack<T, V>(u_init, first);
            sp = load_pack<T, V>(s_init, first);
        }
        float grad_ux = 0.0f;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float u = u_cur[j];
            const float sg = surrogate(u - c.v_threshold);
            float grad_s = carry_s[j];
            if (grad_spike_seq != nullptr) grad_s += load(gs.e[j]);
            const float through_spike = grad_s * sg;
            float grad_u = carry_u[j] + through_spike;
            if (grad_u_seq != nullptr) grad_u += load(gu.e[j]);
            const float u_prev = load(up.e[j]);
            const float s_prev = t > 0 ? (u_prev >= c.v_threshold ? 1.0f : 0.0f) : load(sp.e[j]);
            const float kept = 1.0f - c.gamma * s_prev;
            const float xv = load(x.e[j]);
            gx.e[j] = store<T>(grad_u * factor);
            const float ux = grad_u * xv;
            grad_ux += ux;
            acc_th += through_spike;
            acc_beta += ux * (1.0f - g);
            acc_leak += grad_u * u_prev * kept;
            acc_gamma += grad_u * s_prev * (c.v_subreset - c.leak * u_prev);
            acc_subreset += grad_u * s_prev;
            acc_u += grad_u;
            carry_u[j] = grad_u * c.leak * kept;
            carry_s[j] = -grad_u * (c.leak * c.gamma * u_prev + c.subreset);
            u_cur[j] = u_prev;
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
        partial[static_cast<index_t>(t) * threads + thread] = grad_ux;
    }
    Pack<T, V> gu0, gs0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
        gu0.e[j] = store<T>(carry_u[j]);
        gs0.e[j] = store<T>(carry_s[j]);
    }
    store_pack<T, V>(grad_u_init, first, gu0);
    store_pack<T, V>(grad_s_init, first, gs0);
    float* rows = partial + static_cast<index_t>(steps) * threads + thread;
    rows[0 * threads] = acc_leak;
    rows[1 * threads] = acc_u;
    rows[2 * threads] = acc_gamma;
    rows[3 * threads] = acc_subreset;
    rows[4 * threads] = acc_beta;
    rows[5 * threads] = acc_th;
}

#ifdef __CUDACC__
template <typename T, int V>
__global__ void gated_lif_forward(const T* __restrict__ x_seq, const T* __restrict__ u_init,
                                  const T* __restrict__ s_init, const float* __restrict__ gates,
                                  const float* __restrict__ conduct, T* __restrict__ spike_seq, T* __restrict__ u_seq,
                                  index_t inner, int channels, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    gated_lif_forward_thread<T, V>(thread, x_seq, u_init, s_init, gates, conduct, spike_seq, u_seq, inner, channels,
                                   numel, steps);
}

template <class Surrogate, typename T, int V>
__global__ void gated_lif_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_u_seq,
                                   const T* __restrict__ x_seq, const T* __restrict__ u_seq,
                                   const T* __restrict__ u_init, const T* __restrict__ s_init,
                                   const float* __restrict__ gates, const float* __restrict__ conduct,
                                   T* __restrict__ grad_x_seq, T* __restrict__ grad_u_init, T* __restrict__ grad_s_init,
                                   float* __restrict__ partial, float sg0, float sg1, index_t inner, int channels,
                                   index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    gated_lif_backward_thread<Surrogate, T, V>(thread, grad_spike_seq, grad_u_seq, x_seq, u_seq, u_init, s_init,
                                               gates, conduct, grad_x_seq, grad_u_init, grad_s_init, partial,
                                               Surrogate::from_params(sg0, sg1), inner, channels, numel, steps);
}
#endif

}  // namespace neurons
}  // namespace jelly
