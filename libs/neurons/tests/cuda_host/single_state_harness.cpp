// CPU harness for the fused single-state kernels (test code, compiled with g++).
//
// Runs the per-thread bodies of single_state.cuh, exactly as the __global__ kernels do,
// over every thread index on the host, so that the arithmetic of the CUDA sources can be
// compared with the torch reference on a machine without a GPU. float32 only.
#include <cmath>
#include <cstdint>
#include <type_traits>

#define JELLY_HD inline
#define JELLY_NO_CUDA_HALF 1
#define __restrict__

#include "linear_charge.cu"
#include "nonlinear_if.cu"

using namespace jelly::neurons;
namespace sg = jelly::surrogates;

namespace {

template <class Neuron, class Reset, int V>
void forward(const float* x, const float* v0, float* s, float* v, float* h, const float* tp, const float* p,
             float v_th, float v_reset, index_t numel, int steps) {
    const Neuron neuron = Neuron::make(p[0], p[1], p[2], p[3], tp);
    const Reset reset = Reset::make(v_th, v_reset);
    const index_t threads = (numel + V - 1) / V;
    for (index_t i = 0; i < threads; ++i)
        single_state_forward_thread<Neuron, Reset, float, V>(i, x, v0, s, v, h, neuron, reset, v_th, numel, steps);
}

template <class Neuron, class Reset, class Surrogate, bool Detach, int V>
float backward(const float* gs, const float* gv, const float* gh, const float* h, const float* v0, float* gx,
               float* gv0,
               const float* tp, const float* p, float v_th, float v_reset, const float* sp, index_t numel,
               int steps) {
    const Neuron neuron = Neuron::make(p[0], p[1], p[2], p[3], tp);
    const Reset reset = Reset::make(v_th, v_reset);
    const Surrogate surrogate = Surrogate::from_params(sp[0], sp[1]);
    const index_t threads = (numel + V - 1) / V;
    double total = 0.0;
    for (index_t i = 0; i < threads; ++i)
        total += single_state_backward_thread<Neuron, Reset, Surrogate, Detach, float, V>(
            i, gs, gv, gh, h, v0, gx, gv0, neuron, reset, surrogate, v_th, numel, steps);
    return static_cast<float>(total);
}

// Runtime ids -> template arguments.
template <class F>
bool with_neuron(int id, F&& f) {
    switch (id) {
        case 0: f(IF{}); return true;
        case 1: f(LIF<true>{}); return true;
        case 2: f(LIF<false>{}); return true;
        case 3: f(PLIF<true>{}); return true;
        case 4: f(PLIF<false>{}); return true;
        case 5: f(QIF{}); return true;
        case 6: f(EIF{}); return true;
    }
    return false;
}

template <class F>
bool with_reset(int id, F&& f) {
    if (id == 0) { f(HardReset{}); return true; }
    if (id == 1) { f(SoftReset{}); return true; }
    return false;
}

template <class F>
bool with_surrogate(int id, F&& f) {
    switch (id) {
        case 0: f(sg::ATan{}); return true;
        case 1: f(sg::PiecewiseQuadratic{}); return true;
        case 2: f(sg::Sigmoid{}); return true;
    }
    return false;
}

}  // namespace

extern "C" int jelly_forward(int neuron, int reset, int vec, const float* x, const float* v0, float* s, float* v,
                             float* h, const float* tp, const float* p, float v_th, float v_reset, int64_t numel,
                             int steps) {
    bool ok = false;
    with_neuron(neuron, [&](auto n) {
        with_reset(reset, [&](auto r) {
            using N = decltype(n);
            using R = decltype(r);
            if (vec == 8) forward<N, R, 8>(x, v0, s, v, h, tp, p, v_th, v_reset, numel, steps);
            else if (vec == 4) forward<N, R, 4>(x, v0, s, v, h, tp, p, v_th, v_reset, numel, steps);
            else forward<N, R, 1>(x, v0, s, v, h, tp, p, v_th, v_reset, numel, steps);
            ok = true;
        });
    });
    return ok ? 0 : 1;
}

extern "C" int jelly_backward(int neuron, int reset, int surrogate, int detach, int vec, const float* gs,
                              const float* gv, const float* gh, const float* h, const float* v0, float* gx, float* gv0,
                              const float* tp, const float* p, float v_th, float v_reset, const float* sp,
                              int64_t numel, int steps, float* param_grad) {
    bool ok = false;
    with_neuron(neuron, [&](auto n) {
        with_reset(reset, [&](auto r) {
            with_surrogate(surrogate, [&](auto s) {
                using N = decltype(n);
                using R = decltype(r);
                using S = decltype(s);
                float g;
                auto run = [&](auto detach_c, auto vec_c) {
                    return backward<N, R, S, decltype(detach_c)::value, decltype(vec_c)::value>(
                        gs, gv, gh, h, v0, gx, gv0, tp, p, v_th, v_reset, sp, numel, steps);
                };
                auto with_vec = [&](auto detach_c) {
                    if (vec == 8) return run(detach_c, std::integral_constant<int, 8>{});
                    if (vec == 4) return run(detach_c, std::integral_constant<int, 4>{});
                    return run(detach_c, std::integral_constant<int, 1>{});
                };
                g = detach ? with_vec(std::true_type{}) : with_vec(std::false_type{});
                *param_grad = g;
                ok = true;
            });
        });
    });
    return ok ? 0 : 1;
}
