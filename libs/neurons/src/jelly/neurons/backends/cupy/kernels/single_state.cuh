// Fused multi-step forward and backward (BPTT) of single-state spiking neurons.
//
// A single-state neuron keeps one membrane v per element and runs, per step t,
//
//     h[t] = charge(x[t], v[t-1])            (Neuron::charge)
//     s[t] = (h[t] >= v_th)                  (Heaviside; surrogate gradient in the backward)
//     v[t] = reset(h[t], s[t])               (HardReset / SoftReset)
//
// The forward runs all T steps in one launch, one thread per V consecutive elements,
// keeps v in float32 registers and writes s[t], v[t] and (when training) h[t]. The
// backward walks t = T-1 .. 0 in one launch, recomputing s[t] and v[t-1] from the stored
// h, with sigma[t] = g'(h[t] - v_th):
//
//     dL/dv[t]   = grad_v[t] + dL/dh[t+1] * dh[t+1]/dv[t]
//     dL/dh[t]   = grad_s[t] sigma[t] + dL/dv[t] * dv[t]/dh[t]
//     dL/dx[t]   = dL/dh[t] * dh[t]/dx[t]
//     dL/dv_init = dL/dh[0] * dh[0]/dv_init
//
// An optional grad_h_seq (a gradient flowing into h itself, e.g. LIAF's analog output) is
// added to dL/dh[t]. And, for a neuron with a learnable scalar (Neuron::kParamGrad), the sum over t and
// elements of dL/dh[t] * dh[t]/dparam, reduced per block into param_grad_partial[block].
//
// A Neuron type provides:
//     static Neuron make(float p0, float p1, float p2, float p3, const float* tensor_param);
//     float charge(float x, float v) const;
//     float dh_dv(float v_prev) const;          // d h[t] / d v[t-1]
//     float dh_dx(float v_prev) const;          // d h[t] / d x[t]
//     static constexpr bool kParamGrad;
//     float dh_dparam(float h, float v_prev) const;
#pragma once

#include "neuron_common.cuh"

namespace jelly {
namespace neurons {

// One thread's share of the forward: V consecutive elements starting at V * thread.
template <class Neuron, class Reset, typename T, int V>
JELLY_HD void single_state_forward_thread(index_t thread, const T* __restrict__ x_seq,
                                          const T* __restrict__ v_init, T* __restrict__ spike_seq,
                                          T* __restrict__ v_seq, T* __restrict__ h_seq, const Neuron& neuron,
                                          const Reset& reset, float v_threshold, index_t numel, int steps) {
    const index_t first = thread * V;
    if (first >= numel) return;
    float v[V];
    const Pack<T, V> v0 = load_pack<T, V>(v_init, first);
#pragma unroll
    for (int j = 0; j < V; ++j) v[j] = load(v0.e[j]);
    for (int t = 0; t < steps; ++t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        const Pack<T, V> x = load_pack<T, V>(x_seq, offset);
        Pack<T, V> s_out, v_out, h_out;
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float h = neuron.charge(load(x.e[j]), v[j]);
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
}

// One thread's share of the backward; returns its part of dL/dparam (0 unless kParamGrad).
// grad_spike_seq, grad_v_seq and grad_h_seq may be null (no gradient flows into that output).
template <class Neuron, class Reset, class Surrogate, bool DetachReset, typename T, int V>
JELLY_HD float single_state_backward_thread(index_t thread, const T* __restrict__ grad_spike_seq,
                                            const T* __restrict__ grad_v_seq, const T* __restrict__ grad_h_seq,
                                            const T* __restrict__ h_seq,
                                            const T* __restrict__ v_init, T* __restrict__ grad_x_seq,
                                            T* __restrict__ grad_v_init, const Neuron& neuron, const Reset& reset,
                                            const Surrogate& surrogate, float v_threshold, index_t numel,
                                            int steps) {
    const index_t first = thread * V;
    if (first >= numel || steps <= 0) return 0.0f;
    float grad_h_next[V], dh_dv_next[V], h[V];
    float param_grad = 0.0f;
    const Pack<T, V> h_last = load_pack<T, V>(h_seq, static_cast<index_t>(steps - 1) * numel + first);
#pragma unroll
    for (int j = 0; j < V; ++j) {
        grad_h_next[j] = 0.0f;
        dh_dv_next[j] = 0.0f;
        h[j] = load(h_last.e[j]);
    }
    for (int t = steps - 1; t >= 0; --t) {
        const index_t offset = static_cast<index_t>(t) * numel + first;
        // v[t-1], recomputed from h[t-1] (or v_init); h[t-1] becomes h for the next t.
        float h_prev[V], v_prev[V];
        const Pack<T, V> prev = t > 0 ? load_pack<T, V>(h_seq, offset - numel) : load_pack<T, V>(v_init, first);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            h_prev[j] = load(prev.e[j]);
            v_prev[j] = t > 0 ? reset.apply(h_prev[j], h_prev[j] >= v_threshold) : h_prev[j];
        }
        Pack<T, V> gs, gv, gh, gx;
        if (grad_spike_seq != nullptr) gs = load_pack<T, V>(grad_spike_seq, offset);
        if (grad_v_seq != nullptr) gv = load_pack<T, V>(grad_v_seq, offset);
        if (grad_h_seq != nullptr) gh = load_pack<T, V>(grad_h_seq, offset);
#pragma unroll
        for (int j = 0; j < V; ++j) {
            const float u = h[j] - v_threshold;
            const bool spike = h[j] >= v_threshold;
            const float sg = surrogate(u);
            float grad_v = grad_h_next[j] * dh_dv_next[j];
            if (grad_v_seq != nullptr) grad_v += load(gv.e[j]);
            float grad_h = grad_v * reset.template dv_dh<DetachReset>(h[j], spike, sg);
            if (grad_spike_seq != nullptr) grad_h += load(gs.e[j]) * sg;
            if (grad_h_seq != nullptr) grad_h += load(gh.e[j]);
            gx.e[j] = store<T>(grad_h * neuron.dh_dx(v_prev[j]));
            if (Neuron::kParamGrad) param_grad += grad_h * neuron.dh_dparam(h[j], v_prev[j]);
            dh_dv_next[j] = neuron.dh_dv(v_prev[j]);
            grad_h_next[j] = grad_h;
            h[j] = h_prev[j];
        }
        store_pack<T, V>(grad_x_seq, offset, gx);
    }
    if (grad_v_init != nullptr) {
        Pack<T, V> gv0;
#pragma unroll
        for (int j = 0; j < V; ++j) gv0.e[j] = store<T>(grad_h_next[j] * dh_dv_next[j]);
        store_pack<T, V>(grad_v_init, first, gv0);
    }
    return param_grad;
}

#ifdef __CUDACC__
template <class Neuron, class Reset, typename T, int V>
__global__ void single_state_forward(const T* __restrict__ x_seq, const T* __restrict__ v_init,
                                     T* __restrict__ spike_seq, T* __restrict__ v_seq, T* __restrict__ h_seq,
                                     const float* __restrict__ tensor_param, float p0, float p1, float p2, float p3,
                                     float v_threshold, float v_reset, index_t numel, int steps) {
    const Neuron neuron = Neuron::make(p0, p1, p2, p3, tensor_param);
    const Reset reset = Reset::make(v_threshold, v_reset);
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    single_state_forward_thread<Neuron, Reset, T, V>(thread, x_seq, v_init, spike_seq, v_seq, h_seq, neuron, reset,
                                                     v_threshold, numel, steps);
}

// param_grad_partial (one float per block) may be null when no parameter gradient is needed.
template <class Neuron, class Reset, class Surrogate, bool DetachReset, typename T, int V>
__global__ void single_state_backward(const T* __restrict__ grad_spike_seq, const T* __restrict__ grad_v_seq,
                                      const T* __restrict__ grad_h_seq, const T* __restrict__ h_seq,
                                      const T* __restrict__ v_init,
                                      T* __restrict__ grad_x_seq, T* __restrict__ grad_v_init,
                                      float* __restrict__ param_grad_partial, const float* __restrict__ tensor_param,
                                      float p0, float p1, float p2, float p3, float v_threshold, float v_reset,
                                      float sg0, float sg1, index_t numel, int steps) {
    const Neuron neuron = Neuron::make(p0, p1, p2, p3, tensor_param);
    const Reset reset = Reset::make(v_threshold, v_reset);
    const Surrogate surrogate = Surrogate::from_params(sg0, sg1);
    const index_t thread = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const float part = single_state_backward_thread<Neuron, Reset, Surrogate, DetachReset, T, V>(
        thread, grad_spike_seq, grad_v_seq, grad_h_seq, h_seq, v_init, grad_x_seq, grad_v_init, neuron, reset, surrogate,
        v_threshold, numel, steps);
    if (Neuron::kParamGrad && param_grad_partial != nullptr) {
        const float total = block_sum(part);
        if (threadIdx.x == 0) param_grad_partial[blockIdx.x] = total;
    }
}
#endif

}  // namespace neurons
}  // namespace jelly
