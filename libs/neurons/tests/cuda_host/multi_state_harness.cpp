// CPU harness for the fused CUBA-LIF, Izhikevich, CLIF and KLIF kernels (test code, g++).
// Each entry point runs the per-thread forward and backward bodies over every thread
// index, float32 only, with the ATan surrogate (its functor is checked on its own).
#include <cmath>
#include <cstdint>
#include <type_traits>

#define JELLY_HD inline
#define JELLY_NO_CUDA_HALF 1
#define __restrict__

#include "cuba_lif.cu"
#include "izhikevich.cu"
#include "clif.cu"
#include "klif.cu"

using namespace jelly::neurons;
using Surrogate = jelly::surrogates::ATan;

namespace {

template <class F>
void with_reset(bool hard, F&& f) {
    if (hard) f(HardReset{}); else f(SoftReset{});
}

template <class F>
void with_bool(bool value, F&& f) {
    if (value) f(std::true_type{}); else f(std::false_type{});
}

template <class F>
void with_vec(int vec, F&& f) {
    if (vec == 8) f(std::integral_constant<int, 8>{});
    else if (vec == 4) f(std::integral_constant<int, 4>{});
    else f(std::integral_constant<int, 1>{});
}

}  // namespace

// c: c_decay, v_decay, v_th, v_reset
extern "C" void jelly_cuba(int hard, int detach, int vec, const float* x, const float* c0, const float* v0, float* s,
                           float* v, float* c_last, float* h, const float* gs, const float* gv, const float* gc,
                           float* gx, float* gc0, float* gv0, const float* c, float alpha, int64_t numel, int steps) {
    with_reset(hard, [&](auto r) {
        using R = decltype(r);
        const R reset = R::make(c[2], c[3]);
        with_bool(detach, [&](auto d) {
            with_vec(vec, [&](auto vv) {
                constexpr int V = decltype(vv)::value;
                for (index_t i = 0; i * V < numel; ++i)
                    cuba_lif_forward_thread<R, float, V>(i, x, c0, v0, s, v, c_last, h, c[0], c[1], reset, c[2],
                                                         numel, steps);
                for (index_t i = 0; i * V < numel; ++i)
                    cuba_lif_backward_thread<R, Surrogate, decltype(d)::value, float, V>(
                        i, gs, gv, gc, h, gx, gc0, gv0, c[0], c[1], reset, Surrogate{alpha}, c[2], numel, steps);
            });
        });
    });
}

// c: inv_tau, a0, v_rest, v_c, inv_tau_w, a, b, v_th, v_reset
extern "C" void jelly_izhikevich(int hard, int detach, int vec, const float* x, const float* v0, const float* w0,
                                 float* s, float* v, float* w_last, float* h, const float* gs, const float* gv,
                                 const float* gw, float* gx, float* gv0, float* gw0, const float* c, float alpha,
                                 int64_t numel, int steps) {
    const IzhikevichConstants k{c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
    with_reset(hard, [&](auto r) {
        using R = decltype(r);
        const R reset = R::make(c[7], c[8]);
        with_bool(detach, [&](auto d) {
            with_vec(vec, [&](auto vv) {
                constexpr int V = decltype(vv)::value;
                for (index_t i = 0; i * V < numel; ++i)
                    izhikevich_forward_thread<R, float, V>(i, x, v0, w0, s, v, w_last, h, k, reset, c[7], numel,
                                                           steps);
                for (index_t i = 0; i * V < numel; ++i)
                    izhikevich_backward_thread<R, Surrogate, decltype(d)::value, float, V>(
                        i, gs, gv, gw, h, v0, gx, gv0, gw0, k, reset, Surrogate{alpha}, c[7], numel, steps);
            });
        });
    });
}

extern "C" void jelly_clif(int vec, const float* x, const float* v0, const float* m0, float* s, float* v, float* m,
                           float* h, const float* gs, const float* gv, const float* gm, float* gx, float* gv0,
                           float* gm0, float inv_tau, float v_th, float alpha, int64_t numel, int steps) {
    with_vec(vec, [&](auto vv) {
        constexpr int V = decltype(vv)::value;
        for (index_t i = 0; i * V < numel; ++i)
            clif_forward_thread<float, V>(i, x, v0, m0, s, v, m, h, inv_tau, v_th, numel, steps);
        for (index_t i = 0; i * V < numel; ++i)
            clif_backward_thread<Surrogate, float, V>(i, gs, gv, gm, h, m, m0, gx, gv0, gm0, inv_tau, v_th,
                                                      Surrogate{alpha}, numel, steps);
    });
}

// c: inv_tau, v_r, v_th, v_reset; returns dL/dk
extern "C" float jelly_klif(int hard, int decay, int scale, int detach, int vec, const float* x, const float* v0,
                            float* s, float* v, float* h, const float* gs, const float* gv, float* gx, float* gv0,
                            float k, const float* c, float alpha, int64_t numel, int steps) {
    double total = 0.0;
    with_bool(hard, [&](auto hh) {
        with_bool(decay, [&](auto di) {
            with_bool(scale, [&](auto sc) {
                with_bool(detach, [&](auto d) {
                    with_vec(vec, [&](auto vv) {
                        constexpr int V = decltype(vv)::value;
                        constexpr bool H = decltype(hh)::value, D = decltype(di)::value, S = decltype(sc)::value;
                        for (index_t i = 0; i * V < numel; ++i)
                            klif_forward_thread<H, D, S, float, V>(i, x, v0, s, v, h, k, c[0], c[1], c[2], c[3],
                                                                   numel, steps);
                        for (index_t i = 0; i * V < numel; ++i)
                            total += klif_backward_thread<H, D, S, Surrogate, decltype(d)::value, float, V>(
                                i, gs, gv, h, gx, gv0, k, c[0], c[2], c[3], Surrogate{alpha}, numel, steps);
                    });
                });
            });
        });
    });
    return static_cast<float>(total);
}
