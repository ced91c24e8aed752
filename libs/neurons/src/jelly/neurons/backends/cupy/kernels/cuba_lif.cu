// Current-based LIF (CUBA-LIF): fused multi-step forward and backward.
//
// Equations (jelly.neurons.functional.cuba_lif, in PyTorch's operation order):
//     c[t] = c[t-1] * c_decay + x[t]
//     h[t] = v[t-1] * v_decay + c[t]
//     s[t] = (h[t] >= v_th),   v[t] = reset(h[t], s[t])
// Outputs: spike_seq, v_seq, the last current c_last, and (training) h_seq.
// Backward, with H, V, C the total gradients of h[t], v[t], c[t] and sigma = g'(h - v_th):
//     V[t] = grad_v[t] + H[t+1] v_decay
//     H[t] = grad_s[t] sigma[t] + V[t] dv/dh[t]
//     C[t] = H[t] + C[t+1] c_decay        (C[T] = grad_c_last / c_decay, i.e. C[T-1] gets grad_c_last)
//     grad_x[t] = C[t],  grad_v_init = H[0] v_decay,  grad_c_init = C[0] c_decay
#include "neuron_common.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

template <class Reset, typename T, int V>
JELLY_HD void cuba_lif_forward_thread(index_t thread, const T* __restrict__ x_seq, const T* __restrict__ c_init,
                                      const T* __restrict__ v_init, T* __restrict__ spike_seq, T* __restrict__ v_seq,
                                      T* __restrict__ c_last, T* __restrict__ h_seq, float c_decay, float v_decay,
                                      const Reset& reset, float v_threshold, index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    float c[V], v[V];
    const Pack<T, V> c0 = load_pack<T, V>(c_init, first), v0 = load_pack<T, V>(v_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        c[j] = load(c0.e[j]);
        v[j] = load(v0.e[j]);
    }
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, v_out, h_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            c[j] = c[j] * c_decay + load(x.e[j]);
            const float h = v[j] * v_decay + c[j];
            const bool spike = h >= v_threshold;
            h_out.e[j] = store_charged<T>(h, spike, v_threshold);
            s_out.e[j] = store<T>(spike ? 1.0f : 0.0f);
            v[j] = reset.apply(h, spike);
            v_out.e[j] = store<T>(v[j]);
        }
        store_pack<T, V>(spike_seq, offset, s_out);
        store_pack<T, V>(v_seq, offset, v_out);
        if (h_seq != nullptr) store_pack<T, V>(h_seq, offset, h_out);
    }
    Pack<T, V> c_out;
#pragma unroll
    for (int j = 0; j < V; ++j) c_out.e[j] = store<T>(c[j]);
    store_pack<T, V>(c_last, first, c_out);
}

template <class Reset, class Surrogate, bool DetachReset, typename T, int V>
JELLY_HD void cuba_lif_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                       const T* __restrict__ grad_v_seq, const T* __restrict__ grad_c_last,
                                       const T* __restrict__ h_seq, T* __restrict__ grad_x_seq,
                                       T* __restrict__ grad_c_init, T* __restrict__ grad_v_init, float c_decay,
                                       float v_decay, const Reset& reset, const Surrogate& surrogate,
                                       float v_threshold, index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return;
    float grad_h_next[V], grad_c_next[V];
    Pack<T, V> gc_last;
    if (grad_c_last != nullptr) gc_last = load_pack<T, V>(grad_c_last, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        grad_h_next[j] = 0.0f;
        // C[T-1] = H[T-1] + grad_c_last: carry it as "C[T] c_decay"
        grad_c_next[j] = grad_c_last != nullptr ? load(gc_last.e[j]) : 0.0f;
    }
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> hp = load_pack<T, V>(h_seq, offset);
        Pack<T, V> gs, gv, gx;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_v_seq != nullptr) gv = load_pack<T, V>(grad_v_seq, offset);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = load(hp.e[j]);
            const bool spike = h >= v_threshold;
            const float sg = surrogate(h - v_threshold);
            float grad_v = grad_h_next[j] * v_decay;
            if (grad_v_seq != nullptr) grad_v += load(gv.e[j]);
            float grad_h = grad_v * reset.template dv_dh<DetachReset>(h, spike, sg);
            if (grad_spike_seq != nullptr) grad_h += load(gs.e[j]) * sg;
            const float grad_c = grad_h + grad_c_next[j];
            gx.e[j] = store<T>(grad_c);
            grad_h_next[j] = grad_h;
            grad_c_next[j] = grad_c * c_decay;
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
    }
    Pack<T, V> gc0, gv0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
        gc0.e[j] = store<T>(grad_c_next[j]);
        gv0.e[j] = store<T>(grad_h_next[j] * v_decay);
    }
    store_pack<T, V>(grad_c_init, first, gc0);
    store_pack<T, V>(grad_v_init, first, gv0);
}

#ifdef __CUDACC__
template <class Reset, typename T, int V>
__global__ void cuba_lif_forward(const T* __restrict__ x_seq, const T* __restrict__ c_init,
                                 const T* __restrict__ v_init, T* __restrict__ spike_seq, T* __restrict__ v_seq,
                                 T* __restrict__ c_last, T* __restrict__ h_seq, float c_decay, float v_decay,
                                 float v_threshold, float v_reset, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    cuba_lif_forward_thread<Reset, T, V>(thread, x_seq, c_init, v_init, spike_seq, v_seq, c_last, h_seq, c_decay,
                                         v_decay, Reset::make(v_threshold, v_reset), v_threshold, numel, steps);
}

template <class Reset, class Surrogate, bool DetachReset, typename T, int V>
__global__ void cuba_lif_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_v_seq,
                                  const T* __restrict__ grad_c_last, const T* __restrict__ h_seq,
                                  T* __restrict__ grad_x_seq, T* __restrict__ grad_c_init, T* __restrict__ grad_v_init,
                                  float c_decay, float v_decay, float v_threshold, float v_reset, float sg0, float sg1,
                                  index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    cuba_lif_backward_thread<Reset, Surrogate, DetachReset, T, V>(
        thread, grad_spike_seq, grad_v_seq, grad_c_last, h_seq, grad_x_seq, grad_c_init, grad_v_init, c_decay, v_decay,
        Reset::make(v_threshold, v_reset), Surrogate::from_params(sg0, sg1), v_threshold, numel, steps);
}
#endif

}  // namespace neurons
}  // namespace jelly
