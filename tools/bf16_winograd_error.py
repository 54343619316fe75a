#!/usr/bin/env python3
"""Error of bf16 Winograd variants for a 3x3 conv, against the direct conv in fp64 (a developer tool:
it informs the choice in Sources/_CKernels/dispatch/tuning.h; nothing in the product or tests runs it).

Model of our bf16 kernels: V = B^T d B and U = G g G^T rounded to bf16 (round to nearest even), the
products summed over C exactly (our kernels sum in fp32; that error is far smaller), then
Y = A^T M A. Data: N(0, 1) inputs, Kaiming-scaled 3x3 weights, C = 256 (the ResNet blocks' width).
Prints the relative RMS error of Y and the multiplies per output of each variant; the fp64 check
(no rounding) shows the matrices are right.

Measured with numpy 2.4.6 (2026-12-06):
  F(2x2) {0,+-1}            3.9e-3, 4.00 multiplies per output   (the default: 99.99% / 99.17%)
  F(3x3) {0,+-1,1/2}        1.4e-2, 2.78                         (3.6x F(2x2)'s error)
  F(4x4) {0,+-1,+-2}        2.5e-2, 2.25                         (99.67% / 62% end to end: fails)
  F(4x4) {0,+-1,1/2,-2}     1.6e-2, 2.25
so a cheaper bf16 Winograd than F(2x2) with F(2x2)'s accuracy does not exist among these.
"""
import numpy as np


def bf16(a):
    """Round float32 to bfloat16 (nearest even), returned as float64."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return r.astype(np.uint32).view(np.float32).astype(np.float64)


def matrices(m, r, points):
    """A^T, G (Toom-Cook on the finite points plus infinity) and the B^T that makes
    A^T[(G g) . (B^T d)] the correlation of d with g, solved for exactly."""
    n = m + r - 1
    assert len(points) == n - 1
    AT, G = np.zeros((m, n)), np.zeros((n, r))
    for i, a in enumerate(points):
        f = np.prod([a - b for j, b in enumerate(points) if j != i])
        AT[:, i] = [a ** j for j in range(m)]
        G[i] = [a ** k / f for k in range(r)]
    AT[m - 1, n - 1] = G[n - 1, r - 1] = 1
    rows, rhs = [], []
    for j in range(m):
        for k in range(r):
            for t in range(n):
                row = np.zeros((n, n))
                row[:, t] = AT[j] * G[:, k]
                rows.append(row.ravel())
                rhs.append(1.0 if t == j + k else 0.0)
    BT = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0].reshape(n, n)
    return AT, G, BT


def main():
    rng = np.random.default_rng(0)
    C, OC, tiles, r = 256, 8, 400, 3
    for name, m, points in [("F(2x2) {0,+-1}", 2, [0, 1, -1]), ("F(3x3) {0,+-1,1/2}", 3, [0, 1, -1, 0.5]),
                            ("F(3x3) {0,+-1,2}", 3, [0, 1, -1, 2]), ("F(4x4) {0,+-1,+-2}", 4, [0, 1, -1, 2, -2]),
                            ("F(4x4) {0,+-1,+-1/2}", 4, [0, 1, -1, 0.5, -0.5]),
                            ("F(4x4) {0,+-1,1/2,-2}", 4, [0, 1, -1, 0.5, -2])]:
        n = m + r - 1
        AT, G, BT = matrices(m, r, points)
        d = rng.standard_normal((tiles, n, n, C))
        g = rng.standard_normal((r, r, C, OC)) * np.sqrt(2 / (9 * C))
        ref = np.zeros((tiles, m, m, OC))
        for y in range(m):
            for x in range(m):
                ref[:, y, x] = np.einsum('tklc,klco->to', d[:, y:y + r, x:x + r], g)
        V = np.einsum('ai,tijc,bj->tabc', BT, d, BT)
        U = np.einsum('ai,ijco,bj->abco', G, g, G)
        out = lambda Vx, Ux: np.einsum('ia,tabo,jb->tijo', AT, np.einsum('tabc,abco->tabo', Vx, Ux), AT)
        rms = lambda e: np.sqrt(np.mean(e ** 2) / np.mean(ref ** 2))
        print(f"{name:24s} fp64 check {rms(out(V, U) - ref):.1e}   bf16 relative rms {rms(out(bf16(V), bf16(U)) - ref):.2e}"
              f"   multiplies per output {n * n / (m * m):.2f}")


if __name__ == "__main__":
    main()
