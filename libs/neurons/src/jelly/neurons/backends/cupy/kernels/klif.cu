// KLIF neuron (LIF with a learnable scale k before firing): fused forward and backward.
//
// Equations (jelly.neurons.functional.klif, in PyTorch's operation order on a GPU; v_r is
// v_reset for hard reset, 0 for soft reset):
//     h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / tau    (decay_input; else v - (v - v_r)/tau + x)
//     f[t] = relu(k h[t]),   s[t] = (f[t] >= v_th)
//     v[t] = reset(f[t], s[t])                                  (scale_reset=false)
//     v[t] = s ? v_reset : f/k  (hard),  f/k - s (1/k) v_th  (soft)   (scale_reset=true)
// k is read from device memory (a float32), so nothing waits for the host. h is saved in
// float32 whatever the tensor dtype: f and the spike are recomputed from it exactly.
// Backward (sigma = g'(f - v_th); [.] the indicator; a = 1 - 1/tau, b = 1/tau or 1):
//     F[t] = grad_s[t] sigma[t] + V[t] dv/df[t]
//     H[t] = F[t] k [k h > 0],   grad_k += F[t] h[t] [k h > 0] + V[t] dv/dk[t]
//     V[t-1] = grad_v[t-1] + a H[t],   grad_x[t] = b H[t]
// with dv/df, dv/dk as in jelly.neurons.backends.torch_klif (sigma terms dropped with detach_reset).
#include "neuron_common.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

template <bool DecayInput>
JELLY_HD float klif_charge(float x, float v, float v_r, float inv_tau) {
    return DecayInput ? v + (x - (v - v_r)) * inv_tau : (v - (v - v_r) * inv_tau) + x;
}

// The reset of f, with hard reset when HardReset (else soft).
template <bool HardReset, bool ScaleReset>
JELLY_HD float klif_reset(float f, bool spike, float k, float v_threshold, float v_reset) {
    if (ScaleReset) {
        const float scaled = f / k;
        if (HardReset) return spike ? v_reset : scaled;
        return spike ? scaled - (1.0f / k) * v_threshold : scaled;
    }
    if (HardReset) return spike ? v_reset : f;
    return spike ? f - v_threshold : f;
}

template <bool HardReset, bool DecayInput, bool ScaleReset, typename T, int V>
JELLY_HD void klif_forward_thread(index_t thread, const T* __restrict__ x_seq, const T* __restrict__ v_init,
                                  T* __restrict__ spike_seq, T* __restrict__ v_seq, float* __restrict__ h_seq,
                                  float k, float inv_tau, float v_r, float v_threshold, float v_reset,
                                  index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    float v[V];
    const Pack<T, V> v0 = load_pack<T, V>(v_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) v[j] = load(v0.e[j]);
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, v_out;
        Pack<float, V> h_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = klif_charge<DecayInput>(load(x.e[j]), v[j], v_r, inv_tau);
            const float kh = k * h;
            const float f = kh > 0.0f ? kh : 0.0f;
            const bool spike = f >= v_threshold;
            h_out.e[j] = h;
            s_out.e[j] = store<T>(spike ? 1.0f : 0.0f);
            v[j] = klif_reset<HardReset, ScaleReset>(f, spike, k, v_threshold, v_reset);
            v_out.e[j] = store<T>(v[j]);
        }
        store_pack<T, V>(spike_seq, offset, s_out);
        store_pack<T, V>(v_seq, offset, v_out);
        if (h_seq != nullptr) store_pack<float, V>(h_seq, offset, h_out);
    }
}

// Returns this thread's part of dL/dk.
template <bool HardReset, bool DecayInput, bool ScaleReset, class Surrogate, bool DetachReset, typename T, int V>
JELLY_HD float klif_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                    const T* __restrict__ grad_v_seq, const float* __restrict__ h_seq,
                                    T* __restrict__ grad_x_seq, T* __restrict__ grad_v_init, float k, float inv_tau,
                                    float v_threshold, float v_reset, const Surrogate& surrogate, index_t numel,
                                    int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return 0.0f;
    const float a = 1.0f - inv_tau;
    const float b = DecayInput ? inv_tau : 1.0f;
    float grad_h_next[V];
    float grad_k = 0.0f;
#pragma unroll
    for (int j = 0; j < V; ++j) grad_h_next[j] = 0.0f;
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<float, V> hp = load_pack<float, V>(h_seq, offset);
        Pack<T, V> gs, gv, gx;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_v_seq != nullptr) gv = load_pack<T, V>(grad_v_seq, offset);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = hp.e[j];
            const float kh = k * h;
            const bool positive = kh > 0.0f;
            const float f = positive ? kh : 0.0f;
            const bool spike = f >= v_threshold;
            const float s = spike ? 1.0f : 0.0f;
            const float sg = surrogate(f - v_threshold);
            const float sgr = DetachReset ? 0.0f : sg;  // the surrogate term of the reset
            float dv_df, dv_dk;
            if (ScaleReset) {
                if (HardReset) {
                    dv_df = (1.0f - s) / k + (v_reset - f / k) * sgr;
                    dv_dk = -(f / (k * k)) * (1.0f - s);
                } else {
                    dv_df = (1.0f - v_threshold * sgr) / k;
                    dv_dk = (s * v_threshold - f) / (k * k);
                }
            } else {
                dv_df = HardReset ? (1.0f - s) + (v_reset - f) * sgr : 1.0f - v_threshold * sgr;
                dv_dk = 0.0f;
            }
            float grad_v = grad_h_next[j] * a;
            if (grad_v_seq != nullptr) grad_v += load(gv.e[j]);
            float grad_f = grad_v * dv_df;
            if (grad_spike_seq != nullptr) grad_f += load(gs.e[j]) * sg;
            const float grad_h = positive ? grad_f * k : 0.0f;
            grad_k += (positive ? grad_f * h : 0.0f) + grad_v * dv_dk;
            gx.e[j] = store<T>(grad_h * b);
            grad_h_next[j] = grad_h;
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
    }
    if (grad_v_init != nullptr) {
        Pack<T, V> gv0;
#pragma unroll
        for (int j = 0; j < V; ++j) gv0.e[j] = store<T>(grad_h_next[j] * a);
        store_pack<T, V>(grad_v_init, first, gv0);
    }
    return grad_k;
}

#ifdef __CUDACC__
template <class Reset, bool DecayInput, bool ScaleReset, typename T, int V>
__global__ void klif_forward(const T* __restrict__ x_seq, const T* __restrict__ v_init, T* __restrict__ spike_seq,
                             T* __restrict__ v_seq, float* __restrict__ h_seq, const float* __restrict__ k_ptr,
                             float inv_tau, float v_r, float v_threshold, float v_reset, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    klif_forward_thread<Reset::kHard, DecayInput, ScaleReset, T, V>(thread, x_seq, v_init, spike_seq, v_seq, h_seq,
                                                                    k_ptr[0], inv_tau, v_r, v_threshold, v_reset,
                                                                    numel, steps);
}

template <class Reset, bool DecayInput, bool ScaleReset, class Surrogate, bool DetachReset, typename T, int V>
__global__ void klif_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_v_seq,
                              const float* __restrict__ h_seq, T* __restrict__ grad_x_seq, T* __restrict__ grad_v_init,
                              float* __restrict__ grad_k_partial, const float* __restrict__ k_ptr, float inv_tau,
                              float v_threshold, float v_reset, float sg0, float sg1, index_t numel, int steps) {
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const float part = klif_backward_thread<Reset::kHard, DecayInput, ScaleReset, Surrogate, DetachReset, T, V>(
        thread, grad_spike_seq, grad_v_seq, h_seq, grad_x_seq, grad_v_init, k_ptr[0], inv_tau, v_threshold, v_reset,
        Surrogate::from_params(sg0, sg1), numel, steps);
    if (grad_k_partial != nullptr) {
        const float total = block_sum(part);
        if (threadIdx.x == 0) grad_k_partial[blockIdx.x] = total;
    }
}
#endif

}  // namespace neurons
}  // namespace jelly
