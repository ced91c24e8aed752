// Izhikevich neuron (adaptive quadratic IF): fused multi-step forward and backward.
//
// Equations (jelly.neurons.functional.izhikevich, in PyTorch's operation order on a GPU,
// where dividing by a Python number multiplies by its float32 reciprocal):
//     h[t] = v[t-1] + (x[t] + a0 (v[t-1] - v_rest)(v[t-1] - v_c) - w[t-1]) / tau
//     s[t] = (h[t] >= v_th)
//     w[t] = w[t-1] + (a (h[t] - v_rest) - w[t-1]) / tau_w + b s[t]
//     v[t] = reset(h[t], s[t])
// Outputs: spike_seq, v_seq, the last adaptation w_last, and (training) h_seq.
// Backward (H, V, W total gradients of h[t], v[t], w[t]; sigma = g'(h - v_th); the b sigma
// term is dropped with detach_reset, as the reference detaches the spike in both resets):
//     V[t] = grad_v[t] + H[t+1] dh/dv(v[t]),   dh/dv(v) = 1 + a0 (2 v - v_rest - v_c) / tau
//     W[t] = H[t+1] (-1/tau) + W[t+1] (1 - 1/tau_w)         (W[T-1] = grad_w_last)
//     H[t] = grad_s[t] sigma[t] + V[t] dv/dh[t] + W[t] (a / tau_w + b sigma[t])
//     grad_x[t] = H[t] / tau,  grad_v_init = H[0] dh/dv(v_init),  grad_w_init = -H[0]/tau + W[0](1 - 1/tau_w)
#include "neuron_common.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

struct IzhikevichConstants {
    float inv_tau, a0, v_rest, v_c, inv_tau_w, a, b;
    JELLY_HD float charge(float x, float v, float w) const {
        return v + (x + a0 * (v - v_rest) * (v - v_c) - w) * inv_tau;
    }
    JELLY_HD float adapt(float w, float h, bool spike) const {
        return w + (a * (h - v_rest) - w) * inv_tau_w + b * (spike ? 1.0f : 0.0f);
    }
    JELLY_HD float dh_dv(float v) const { return 1.0f + a0 * (2.0f * v - v_rest - v_c) * inv_tau; }
};

template <class Reset, typename T, int V>
JELLY_HD void izhikevich_forward_thread(index_t thread, const T* __restrict__ x_seq, const T* __restrict__ v_init,
                                        const T* __restrict__ w_init, T* __restrict__ spike_seq,
                                        T* __restrict__ v_seq, T* __restrict__ w_last, T* __restrict__ h_seq,
                                        const IzhikevichConstants& k, const Reset& reset, float v_threshold,
                                        index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    float v[V], w[V];
    const Pack<T, V> v0 = load_pack<T, V>(v_init, first), w0 = load_pack<T, V>(w_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        v[j] = load(v0.e[j]);
        w[j] = load(w0.e[j]);
    }
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, v_out, h_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = k.charge(load(x.e[j]), v[j], w[j]);
            const bool spike = h >= v_threshold;
            w[j] = k.adapt(w[j], h, spike);
            h_out.e[j] = store_charged<T>(h, spike, v_threshold);
            s_out.e[j] = store<T>(spike ? 1.0f : 0.0f);
            v[j] = reset.apply(h, spike);
            v_out.e[j] = store<T>(v[j]);
        }
        store_pack<T, V>(spike_seq, offset, s_out);
        store_pack<T, V>(v_seq, offset, v_out);
        if (h_seq != nullptr) store_pack<T, V>(h_seq, offset, h_out);
    }
    Pack<T, V> w_out;
#pragma unroll
    for (int j = 0; j < V; ++j) w_out.e[j] = store<T>(w[j]);
    store_pack<T, V>(w_last, first, w_out);
}

template <class Reset, class Surrogate, bool DetachReset, typename T, int V>
JELLY_HD void izhikevich_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                         const T* __restrict__ grad_v_seq, const T* __restrict__ grad_w_last,
                                         const T* __restrict__ h_seq, const T* __restrict__ v_init,
                                         T* __restrict__ grad_x_seq, T* __restrict__ grad_v_init,
                                         T* __restrict__ grad_w_init, const IzhikevichConstants& k,
                                         const Reset& reset, const Surrogate& surrogate, float v_threshold,
                                         index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return;
    float grad_h_next[V], dh_dv_next[V], grad_w[V], h[V];
    const Pack<T, V> h_last = load_pack<T, V>(h_seq, static_cast<index_t>(steps - 1) * numel + first);
    Pack<T, V> gw_last;
    if (grad_w_last != nullptr) gw_last = load_pack<T, V>(grad_w_last, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        grad_h_next[j] = 0.0f;
        dh_dv_next[j] = 0.0f;
        grad_w[j] = grad_w_last != nullptr ? load(gw_last.e[j]) : 0.0f;
        h[j] = load(h_last.e[j]);
    }
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> prev = t > 0 ? load_pack<T, V>(h_seq, offset - numel) : load_pack<T, V>(v_init, first);
        Pack<T, V> gs, gv, gx;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_v_seq != nullptr) gv = load_pack<T, V>(grad_v_seq, offset);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h_prev = load(prev.e[j]);
            const float v_prev = t > 0 ? reset.apply(h_prev, h_prev >= v_threshold) : h_prev;
            const bool spike = h[j] >= v_threshold;
            const float sg = surrogate(h[j] - v_threshold);
            float grad_v = grad_h_next[j] * dh_dv_next[j];
            if (grad_v_seq != nullptr) grad_v += load(gv.e[j]);
            // grad_w[j] holds W[t] here (W[T-1] = grad_w_last; updated below for t-1)
            const float dw_dh = k.a * k.inv_tau_w + (DetachReset ? 0.0f : k.b * sg);
            float grad_h = grad_v * reset.template dv_dh<DetachReset>(h[j], spike, sg) + grad_w[j] * dw_dh;
            if (grad_spike_seq != nullptr) grad_h += load(gs.e[j]) * sg;
            gx.e[j] = store<T>(grad_h * k.inv_tau);
            grad_w[j] = -grad_h * k.inv_tau + grad_w[j] * (1.0f - k.inv_tau_w);  // W[t-1]
            dh_dv_next[j] = k.dh_dv(v_prev);
            grad_h_next[j] = grad_h;
            h[j] = h_prev;
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
    }
    Pack<T, V> gv0, gw0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
        gv0.e[j] = store<T>(grad_h_next[j] * dh_dv_next[j]);
        gw0.e[j] = store<T>(grad_w[j]);
    }
    store_pack<T, V>(grad_v_init, first, gv0);
    store_pack<T, V>(grad_w_init, first, gw0);
}

#ifdef __CUDACC__
template <class Reset, typename T, int V>
__global__ void izhikevich_forward(const T* __restrict__ x_seq, const T* __restrict__ v_init,
                                   const T* __restrict__ w_init, T* __restrict__ spike_seq, T* __restrict__ v_seq,
                                   T* __restrict__ w_last, T* __restrict__ h_seq, float inv_tau, float a0,
                                   float v_rest, float v_c, float inv_tau_w, float a, float b, float v_threshold,
                                   float v_reset, index_t numel, int steps) {
    const IzhikevichConstants k{inv_tau, a0, v_rest, v_c, inv_tau_w, a, b};
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    izhikevich_forward_thread<Reset, T, V>(thread, x_seq, v_init, w_init, spike_seq, v_seq, w_last, h_seq, k,
                                           Reset::make(v_threshold, v_reset), v_threshold, numel, steps);
}

template <class Reset, class Surrogate, bool DetachReset, typename T, int V>
__global__ void izhikevich_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_v_seq,
                                    const T* __restrict__ grad_w_last, const T* __restrict__ h_seq,
                                    const T* __restrict__ v_init, T* __restrict__ grad_x_seq,
                                    T* __restrict__ grad_v_init, T* __restrict__ grad_w_init, float inv_tau, float a0,
                                    float v_rest, float v_c, float inv_tau_w, float a, float b, float v_threshold,
                                    float v_reset, float sg0, float sg1, index_t numel, int steps) {
    const IzhikevichConstants k{inv_tau, a0, v_rest, v_c, inv_tau_w, a, b};
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    izhikevich_backward_thread<Reset, Surrogate, DetachReset, T, V>(
        thread, grad_spike_seq, grad_v_seq, grad_w_last, h_seq, v_init, grad_x_seq, grad_v_init, grad_w_init, k,
        Reset::make(v_threshold, v_reset), Surrogate::from_params(sg0, sg1), v_threshold, numel, steps);
}
#endif

}  // namespace neurons
}  // namespace jelly
