// Complementary LIF (CLIF): fused multi-step forward and backward (soft reset only).
//
// Equations (jelly.neurons.functional.clif, in PyTorch's operation order on a GPU):
//     h[t] = v[t-1] - v[t-1] / tau + x[t]
//     s[t] = (h[t] >= v_th)
//     m[t] = m[t-1] sigmoid(h[t] / tau) + s[t]
//     v[t] = h[t] - s[t] (v_th + sigmoid(m[t]))
// Outputs: spike_seq, v_seq, m_seq and (training) h_seq.
// Backward (H, V, M total gradients; sigma = g'(h - v_th); p = sigmoid(h/tau); q = sigmoid(m)):
//     V[t] = grad_v[t] + H[t+1] (1 - 1/tau)
//     M[t] = grad_m[t] + M[t+1] p[t+1] - V[t] s[t] q[t] (1 - q[t])
//     S[t] = grad_s[t] - V[t] (v_th + q[t]) + M[t]
//     H[t] = V[t] + S[t] sigma[t] + M[t] m[t-1] p[t] (1 - p[t]) / tau
//     grad_x[t] = H[t],  grad_v_init = H[0] (1 - 1/tau),  grad_m_init = M[0] p[0]
#include "neuron_common.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

JELLY_HD float clif_sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

template <typename T, int V>
JELLY_HD void clif_forward_thread(index_t thread, const T* __restrict__ x_seq, const T* __restrict__ v_init,
                                  const T* __restrict__ m_init, T* __restrict__ spike_seq, T* __restrict__ v_seq,
                                  T* __restrict__ m_seq, T* __restrict__ h_seq, float inv_tau, float v_threshold,
                                  index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    float v[V], m[V];
    const Pack<T, V> v0 = load_pack<T, V>(v_init, first), m0 = load_pack<T, V>(m_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        v[j] = load(v0.e[j]);
        m[j] = load(m0.e[j]);
    }
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, v_out, m_out, h_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = (v[j] - v[j] * inv_tau) + load(x.e[j]);
            const bool spike = h >= v_threshold;
            const float s = spike ? 1.0f : 0.0f;
            m[j] = m[j] * clif_sigmoid(h * inv_tau) + s;
            v[j] = h - s * (v_threshold + clif_sigmoid(m[j]));
            h_out.e[j] = store_charged<T>(h, spike, v_threshold);
            s_out.e[j] = store<T>(s);
            v_out.e[j] = store<T>(v[j]);
            m_out.e[j] = store<T>(m[j]);
        }
        store_pack<T, V>(spike_seq, offset, s_out);
        store_pack<T, V>(v_seq, offset, v_out);
        store_pack<T, V>(m_seq, offset, m_out);
        if (h_seq != nullptr) store_pack<T, V>(h_seq, offset, h_out);
    }
}

template <class Surrogate, typename T, int V>
JELLY_HD void clif_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                   const T* __restrict__ grad_v_seq, const T* __restrict__ grad_m_seq,
                                   const T* __restrict__ h_seq, const T* __restrict__ m_seq,
                                   const T* __restrict__ m_init, T* __restrict__ grad_x_seq,
                                   T* __restrict__ grad_v_init, T* __restrict__ grad_m_init, float inv_tau,
                                   float v_threshold, const Surrogate& surrogate, index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return;
    const float decay = 1.0f - inv_tau;
    float grad_h_next[V], grad_m_next[V], m[V];
    const Pack<T, V> m_last = load_pack<T, V>(m_seq, static_cast<index_t>(steps - 1) * numel + first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        grad_h_next[j] = 0.0f;
        grad_m_next[j] = 0.0f;  // M[t+1] p[t+1]
        m[j] = load(m_last.e[j]);
    }
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> hp = load_pack<T, V>(h_seq, offset);
        const Pack<T, V> mp = t > 0 ? load_pack<T, V>(m_seq, offset - numel) : load_pack<T, V>(m_init, first);
        Pack<T, V> gs, gv, gm, gx;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_v_seq != nullptr) gv = load_pack<T, V>(grad_v_seq, offset);
        if (grad_m_seq != nullptr) gm = load_pack<T, V>(grad_m_seq, offset);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = load(hp.e[j]);
            const float m_prev = load(mp.e[j]);
            const bool spike = h >= v_threshold;
            const float s = spike ? 1.0f : 0.0f;
            const float sg = surrogate(h - v_threshold);
            const float p = clif_sigmoid(h * inv_tau);
            const float q = clif_sigmoid(m[j]);
            float grad_v = grad_h_next[j] * decay;
            if (grad_v_seq != nullptr) grad_v += load(gv.e[j]);
            float grad_m = grad_m_next[j] - grad_v * s * q * (1.0f - q);
            if (grad_m_seq != nullptr) grad_m += load(gm.e[j]);
            float grad_s = grad_m - grad_v * (v_threshold + q);
            if (grad_spike_seq != nullptr) grad_s += load(gs.e[j]);
            const float grad_h = grad_v + grad_s * sg + grad_m * m_prev * p * (1.0f - p) * inv_tau;
            gx.e[j] = store<T>(grad_h);
            grad_h_next[j] = grad_h;
            grad_m_next[j] = grad_m * p;
            m[j] = m_prev;
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
    }
    Pack<T, V> gv0, gm0;
#pragma unroll
    for (int j = 0; j < V; ++j) {
        gv0.e[j] = store<T>(grad_h_next[j] * decay);
        gm0.e[j] = store<T>(grad_m_next[j]);
    }
    store_pack<T, V>(grad_v_init, first, gv0);
    store_pack<T, V>(grad_m_init, first, gm0);
}

#ifdef __CUDACC__
template <typename T, int V>
__global__ void clif_forward(const T* __restrict__ x_seq, const T* __restrict__ v_init, const T* __restrict__ m_init,
                             T* __restrict__ spike_seq, T* __restrict__ v_seq, T* __restrict__ m_seq,
                             T* __restrict__ h_seq, float inv_tau, float v_threshold, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    clif_forward_thread<T, V>(thread, x_seq, v_init, m_init, spike_seq, v_seq, m_seq, h_seq, inv_tau, v_threshold,
                              numel, steps);
}

template <class Surrogate, typename T, int V>
__global__ void clif_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_v_seq,
                              const T* __restrict__ grad_m_seq, const T* __restrict__ h_seq,
                              const T* __restrict__ m_seq, const T* __restrict__ m_init, T* __restrict__ grad_x_seq,
                              T* __restrict__ grad_v_init, T* __restrict__ grad_m_init, float inv_tau,
                              float v_threshold, float sg0, float sg1, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    clif_backward_thread<Surrogate, T, V>(thread, grad_spike_seq, grad_v_seq, grad_m_seq, h_seq, m_seq, m_init,
                                          grad_x_seq, grad_v_init, grad_m_init, inv_tau, v_threshold,
                                          Surrogate::from_params(sg0, sg1), numel, steps);
}
#endif

}  // namespace neurons
}  // namespace jelly
