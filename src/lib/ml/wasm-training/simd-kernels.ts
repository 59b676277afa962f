// The training kernels' inner loops as WebAssembly (SIMD where channels allow), emitted by
// wasm-asm.ts and instantiated against the TF.js WASM backend's own memory: the functions
// take heap byte addresses of tensors and work in place, with no copies in or out.
// Where this module cannot be built (no WebAssembly SIMD, or a memory it cannot import) the
// kernels use their JS loops (convolution, pooling, reduction gradients) or hand the case back
// to the stock WASM kernel (element-wise ops).
import {
  add,
  assemble,
  f32addr,
  f32c,
  f32load,
  f32store,
  f64load,
  f64store,
  Fn,
  i32c,
  i32store,
  i32store8,
  ifThen,
  ifValue,
  inRange,
  max32,
  memfill,
  min32,
  mul,
  op,
  sub,
  v128load,
  v128load32splat,
  v128store,
  type Code,
  type ValType,
} from './wasm-asm';

const params = (...names: string[]): Array<[string, ValType]> => names.map((n) => [n, 'i32']);

/**
 * im2colT(x, cols, n0, n1, inH, inW, inC, outH, outW, kH, kW, sH, sW, dH, dW, pT, pL):
 * cols[k][r], k = (kh*kW + kw)*inC + c, r = ((b - n0)*outH + oh)*outW + ow; zero outside x.
 */
function im2colT(): { fn: Fn; body: Code } {
  const f = new Fn(
    'im2colT',
    params('x', 'cols', 'n0', 'n1', 'inH', 'inW', 'inC', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'pT', 'pL'),
  );
  f.locals('i32', 'kh', 'kw', 'c', 'b', 'oh', 'ow', 'ih', 'iw', 'dst', 'xrow', 'pix');
  const g = f.get;
  const body: Code = [
    f.set('dst', g('cols')),
    f.set('pix', mul(g('inC'), i32c(4))), // bytes per pixel
    f.for('kh', i32c(0), g('kH'), i32c(1), [
      f.for('kw', i32c(0), g('kW'), i32c(1), [
        f.for('c', i32c(0), g('inC'), i32c(1), [
          f.for('b', g('n0'), g('n1'), i32c(1), [
            f.for('oh', i32c(0), g('outH'), i32c(1), [
              f.set('ih', sub(add(mul(g('oh'), g('sH')), mul(g('kh'), g('dH'))), g('pT'))),
              ifThen(
                inRange(g('ih'), g('inH')),
                [
                  // address of x[b, ih, 0, c]
                  f.set('xrow', f32addr(g('x'), add(mul(add(mul(g('b'), g('inH')), g('ih')), g('inW'), g('inC')), g('c')))),
                  f.set('iw', sub(mul(g('kw'), g('dW')), g('pL'))),
                  f.for('ow', i32c(0), g('outW'), i32c(1), [
                    ifThen(
                      inRange(g('iw'), g('inW')),
                      f32store(g('dst'), f32load(add(g('xrow'), mul(g('iw'), g('pix'))))),
                      f32store(g('dst'), f32c(0)),
                    ),
                    f.inc('dst', i32c(4)),
                    f.inc('iw', g('sW')),
                  ]),
                ],
                [memfill(g('dst'), i32c(0), mul(g('outW'), i32c(4))), f.inc('dst', mul(g('outW'), i32c(4)))],
              ),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * im2col(x, cols, n0, n1, inH, inW, inC, outH, outW, kH, kW, sH, sW, dH, dW, pT, pL, simd):
 * row-major columns cols[r][(kh*kW + kw)*inC + c] for images [n0, n1) (contiguous runs of inC
 * floats per tap; zero outside x). simd=1 needs inC % 4 == 0.
 */
function im2col(): { fn: Fn; body: Code } {
  const f = new Fn(
    'im2col',
    params('x', 'cols', 'n0', 'n1', 'inH', 'inW', 'inC', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'pT', 'pL', 'simd'),
  );
  f.locals('i32', 'b', 'oh', 'ow', 'kh', 'kw', 'ih', 'iw', 'j', 'src', 'dst', 'pix');
  const g = f.get;
  const body: Code = [
    f.set('pix', mul(g('inC'), i32c(4))),
    f.set('dst', g('cols')),
    f.for('b', g('n0'), g('n1'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        f.for('ow', i32c(0), g('outW'), i32c(1), [
          f.for('kh', i32c(0), g('kH'), i32c(1), [
            f.set('ih', sub(add(mul(g('oh'), g('sH')), mul(g('kh'), g('dH'))), g('pT'))),
            f.for('kw', i32c(0), g('kW'), i32c(1), [
              f.set('iw', sub(add(mul(g('ow'), g('sW')), mul(g('kw'), g('dW'))), g('pL'))),
              ifThen(
                [inRange(g('ih'), g('inH')), inRange(g('iw'), g('inW')), op.i32.and],
                [
                  f.set('src', add(g('x'), mul(add(mul(add(mul(g('b'), g('inH')), g('ih')), g('inW')), g('iw')), g('pix')))),
                  ifThen(
                    g('simd'),
                    f.for('j', i32c(0), g('pix'), i32c(16), [v128store(add(g('dst'), g('j')), v128load(add(g('src'), g('j'))))]),
                    f.for('j', i32c(0), g('pix'), i32c(4), [f32store(add(g('dst'), g('j')), f32load(add(g('src'), g('j'))))]),
                  ),
                ],
                memfill(g('dst'), i32c(0), g('pix')),
              ),
              f.inc('dst', g('pix')),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * gemmTN(X, Y, C64, tmp, M, K, N): C64[k][n] += sum_m X[m][k] * Y[m][n] (float64 C64, row-major
 * float32 X [M, K] and Y [M, N]; N % 4 == 0). The filter gradient of a convolution: X is the
 * input (1x1) or its row-major im2col, Y is dy; both are read row by row as they lie, so there
 * is no transpose and no weight packing, which XNNPACK's GEMM needs and which costs more than the
 * arithmetic when M (batch x pixels) is long and K small. Register tiles of 4 x 8 (edges 1 x 8,
 * 4 x 4, 1 x 4) over chunks of 128 rows; each chunk's float32 tile sums are folded into C64.
 * tmp: 32 floats of scratch.
 */
const GEMM_CHUNK = 128;
function gemmTN(): { fn: Fn; body: Code } {
  const f = new Fn('gemmTN', params('X', 'Y', 'C', 'tmp', 'M', 'K', 'N'));
  f.locals('i32', 'm0', 'm1', 'm', 'k0', 'n0', 'xp', 'yp', 'ldx', 'ldy', 'i', 'j', 'cp');
  f.locals('v128', 'y0', 'y1', 's');
  const acc = (i: number, j: number) => `a${i}${j}`;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) f.locals('v128', acc(i, j));
  const g = f.get;
  const zero: Code = [f32c(0), op.f32x4.splat];
  /** One kt x nt tile at (k0, n0) over rows [m0, m1), folded into C. */
  const tile = (kt: number, nt: number): Code => {
    const nv = nt / 4;
    const code: Code[] = [];
    for (let i = 0; i < kt; i++) for (let j = 0; j < nv; j++) code.push(f.set(acc(i, j), zero));
    code.push(f.set('xp', add(g('X'), mul(add(mul(g('m0'), g('K')), g('k0')), i32c(4)))));
    code.push(f.set('yp', add(g('Y'), mul(add(mul(g('m0'), g('N')), g('n0')), i32c(4)))));
    const inner: Code[] = [f.set('y0', v128load(g('yp')))];
    if (nv === 2) inner.push(f.set('y1', v128load(add(g('yp'), i32c(16)))));
    for (let i = 0; i < kt; i++) {
      inner.push(f.set('s', v128load32splat(add(g('xp'), i32c(4 * i)))));
      for (let j = 0; j < nv; j++)
        inner.push(f.set(acc(i, j), [g(acc(i, j)), [g('s'), g(j === 0 ? 'y0' : 'y1'), op.f32x4.mul], op.f32x4.add]));
    }
    inner.push(f.inc('xp', g('ldx')), f.inc('yp', g('ldy')));
    code.push(f.for('m', g('m0'), g('m1'), i32c(1), inner));
    // Spill the tile to tmp, then C[k0 + i][n0 + c] += tmp[i*nt + c] in float64.
    for (let i = 0; i < kt; i++) for (let j = 0; j < nv; j++) code.push(v128store(add(g('tmp'), i32c((i * nt + j * 4) * 4)), g(acc(i, j))));
    code.push(
      f.for('i', i32c(0), i32c(kt), i32c(1), [
        f.set('cp', add(g('C'), mul(add(mul(add(g('k0'), g('i')), g('N')), g('n0')), i32c(8)))),
        f.for('j', i32c(0), i32c(nt), i32c(1), [
          f64store(add(g('cp'), mul(g('j'), i32c(8))), [
            f64load(add(g('cp'), mul(g('j'), i32c(8)))),
            [f32load(f32addr(g('tmp'), add(mul(g('i'), i32c(nt)), g('j')))), op.f64.promote_f32],
            op.f64.add,
          ]),
        ]),
      ]),
    );
    return code;
  };
  /** All k tiles (4 rows, then single rows) for the current n0 and width nt. */
  const kTiles = (nt: number): Code => [
    f.set('k0', i32c(0)),
    f.for('k0', i32c(0), sub(g('K'), i32c(3)), i32c(4), tile(4, nt)),
    f.for('k0', g('k0'), g('K'), i32c(1), tile(1, nt)),
  ];
  const body: Code = [
    f.set('ldx', mul(g('K'), i32c(4))),
    f.set('ldy', mul(g('N'), i32c(4))),
    f.for('m0', i32c(0), g('M'), i32c(GEMM_CHUNK), [
      f.set('m1', min32(add(g('m0'), i32c(GEMM_CHUNK)), g('M'))),
      f.for('n0', i32c(0), sub(g('N'), i32c(7)), i32c(8), kTiles(8)),
      f.for('n0', g('n0'), g('N'), i32c(4), kTiles(4)),
    ]),
  ];
  return { fn: f, body };
}

/**
 * col2imAdd(cols, dx, n0, n1, inH, inW, inC, outH, outW, kH, kW, sH, sW, dH, dW, pT, pL, simd):
 * the adjoint of im2col: dx[b, ih, iw, c] += cols[r][(kh*kW + kw)*inC + c] for images [n0, n1),
 * r = ((b - n0)*outH + oh)*outW + ow (cols row-major [rows, kH*kW*inC]). simd=1 needs inC % 4 == 0.
 */
function col2imAdd(): { fn: Fn; body: Code } {
  const f = new Fn(
    'col2imAdd',
    params('cols', 'dx', 'n0', 'n1', 'inH', 'inW', 'inC', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'pT', 'pL', 'simd'),
  );
  f.locals('i32', 'b', 'oh', 'ow', 'kh', 'kw', 'ih', 'iw', 'j', 'src', 'dst', 'pix');
  const g = f.get;
  const body: Code = [
    f.set('pix', mul(g('inC'), i32c(4))),
    f.set('src', g('cols')),
    f.for('b', g('n0'), g('n1'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        f.for('ow', i32c(0), g('outW'), i32c(1), [
          f.for('kh', i32c(0), g('kH'), i32c(1), [
            f.set('ih', sub(add(mul(g('oh'), g('sH')), mul(g('kh'), g('dH'))), g('pT'))),
            f.for('kw', i32c(0), g('kW'), i32c(1), [
              f.set('iw', sub(add(mul(g('ow'), g('sW')), mul(g('kw'), g('dW'))), g('pL'))),
              ifThen(
                [inRange(g('ih'), g('inH')), inRange(g('iw'), g('inW')), op.i32.and],
                [
                  f.set('dst', add(g('dx'), mul(add(mul(add(mul(g('b'), g('inH')), g('ih')), g('inW')), g('iw')), g('pix')))),
                  ifThen(
                    g('simd'),
                    f.for('j', i32c(0), g('pix'), i32c(16), [
                      v128store(add(g('dst'), g('j')), [v128load(add(g('dst'), g('j'))), v128load(add(g('src'), g('j'))), op.f32x4.add]),
                    ]),
                    f.for('j', i32c(0), g('pix'), i32c(4), [
                      f32store(add(g('dst'), g('j')), [f32load(add(g('dst'), g('j'))), f32load(add(g('src'), g('j'))), op.f32.add]),
                    ]),
                  ),
                ],
              ),
              f.inc('src', g('pix')),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * maxPoolGrad(x, dy, dx, batch, inH, inW, C, outH, outW, kH, kW, sH, sW, pT, pL): dx = 0, then
 * each window's dy goes to its first strict maximum (row-major), padding never wins.
 */
function maxPoolGrad(): { fn: Fn; body: Code } {
  const f = new Fn('maxPoolGrad', params('x', 'dy', 'dx', 'batch', 'inH', 'inW', 'C', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'pT', 'pL'));
  f.locals('i32', 'b', 'oh', 'ow', 'ch', 'ih', 'iw', 'hLo', 'hHi', 'wLo', 'wHi', 'yp', 'at', 'off', 'pix', 'rowB');
  f.locals('f32', 'best', 'v');
  const g = f.get;
  const body: Code = [
    memfill(g('dx'), i32c(0), mul(g('batch'), g('inH'), g('inW'), g('C'), i32c(4))),
    f.set('yp', g('dy')),
    f.set('pix', mul(g('C'), i32c(4))),
    f.set('rowB', mul(g('inW'), g('pix'))),
    f.for('b', i32c(0), g('batch'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        f.set('hLo', sub(mul(g('oh'), g('sH')), g('pT'))),
        f.set('hHi', min32(add(g('hLo'), g('kH')), g('inH'))),
        f.set('hLo', max32(g('hLo'), i32c(0))),
        f.for('ow', i32c(0), g('outW'), i32c(1), [
          f.set('wLo', sub(mul(g('ow'), g('sW')), g('pL'))),
          f.set('wHi', min32(add(g('wLo'), g('kW')), g('inW'))),
          f.set('wLo', max32(g('wLo'), i32c(0))),
          f.for('ch', i32c(0), g('C'), i32c(1), [
            f.set('best', f32c(-Infinity)),
            f.set('at', i32c(-1)),
            f.for('ih', g('hLo'), g('hHi'), i32c(1), [
              f.set('off', add(mul(add(mul(g('b'), g('inH')), g('ih')), g('rowB')), mul(g('wLo'), g('pix')), mul(g('ch'), i32c(4)))),
              f.for('iw', g('wLo'), g('wHi'), i32c(1), [
                f.set('v', f32load(add(g('x'), g('off')))),
                ifThen([g('v'), g('best'), op.f32.gt], [f.set('best', g('v')), f.set('at', g('off'))]),
                f.inc('off', g('pix')),
              ]),
            ]),
            ifThen(
              [g('at'), i32c(0), op.i32.ge_s],
              f32store(add(g('dx'), g('at')), [f32load(add(g('dx'), g('at'))), f32load(g('yp')), op.f32.add]),
            ),
            f.inc('yp', i32c(4)),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * maxPoolGradSimd(...same arguments as maxPoolGrad...), for C % 4 == 0: four channels per
 * instruction. Lanes keep the running maximum and the byte offset of the tap that holds it
 * (strict >, so ties keep the first); then every tap adds dy where it is the argmax (dx starts at
 * zero, so overlapping windows accumulate).
 */
function maxPoolGradSimd(): { fn: Fn; body: Code } {
  const f = new Fn(
    'maxPoolGradSimd',
    params('x', 'dy', 'dx', 'batch', 'inH', 'inW', 'C', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'pT', 'pL'),
  );
  f.locals('i32', 'b', 'oh', 'ow', 'j', 'ih', 'iw', 'hLo', 'hHi', 'wLo', 'wHi', 'yp', 'off', 'pix', 'a');
  f.locals('v128', 'best', 'idx', 'v', 'm', 'dyv');
  const g = f.get;
  const tapStart = (): Code => f.set('off', add(mul(add(mul(add(mul(g('b'), g('inH')), g('ih')), g('inW')), g('wLo')), g('pix')), g('j')));
  const body: Code = [
    memfill(g('dx'), i32c(0), mul(g('batch'), g('inH'), g('inW'), g('C'), i32c(4))),
    f.set('yp', g('dy')),
    f.set('pix', mul(g('C'), i32c(4))),
    f.for('b', i32c(0), g('batch'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        f.set('hLo', sub(mul(g('oh'), g('sH')), g('pT'))),
        f.set('hHi', min32(add(g('hLo'), g('kH')), g('inH'))),
        f.set('hLo', max32(g('hLo'), i32c(0))),
        f.for('ow', i32c(0), g('outW'), i32c(1), [
          f.set('wLo', sub(mul(g('ow'), g('sW')), g('pL'))),
          f.set('wHi', min32(add(g('wLo'), g('kW')), g('inW'))),
          f.set('wLo', max32(g('wLo'), i32c(0))),
          f.for('j', i32c(0), g('pix'), i32c(16), [
            f.set('best', [f32c(-Infinity), op.f32x4.splat]),
            f.set('idx', [i32c(-1), op.i32x4.splat]),
            f.for('ih', g('hLo'), g('hHi'), i32c(1), [
              tapStart(),
              f.for('iw', g('wLo'), g('wHi'), i32c(1), [
                f.set('v', v128load(add(g('x'), g('off')))),
                f.set('m', [g('v'), g('best'), op.f32x4.gt]),
                f.set('best', [g('v'), g('best'), g('m'), op.v128.bitselect]),
                f.set('idx', [[g('off'), op.i32x4.splat], g('idx'), g('m'), op.v128.bitselect]),
                f.inc('off', g('pix')),
              ]),
            ]),
            f.set('dyv', v128load(g('yp'))),
            f.inc('yp', i32c(16)),
            f.for('ih', g('hLo'), g('hHi'), i32c(1), [
              tapStart(),
              f.for('iw', g('wLo'), g('wHi'), i32c(1), [
                f.set('a', add(g('dx'), g('off'))),
                v128store(g('a'), [
                  v128load(g('a')),
                  [g('dyv'), [g('idx'), [g('off'), op.i32x4.splat], op.i32x4.eq], op.v128.and],
                  op.f32x4.add,
                ]),
                f.inc('off', g('pix')),
              ]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * dwFilterGrad(x, dy, dw, acc64, row32, batch, inH, inW, C, mult, outH, outW, kH, kW, sH, sW,
 * dH, dW, pT, pL, simd): dw[kh, kw, c, m] = sum x[b, ih, iw, c] * dy[b, oh, ow, c*mult + m].
 * Per output row the products are summed in float32 (row32, kH*kW*C*mult floats), then folded
 * into float64 (acc64). simd=1 (mult 1, C % 4 == 0) runs 4 channels per instruction.
 */
function dwFilterGrad(): { fn: Fn; body: Code } {
  const f = new Fn(
    'dwFilterGrad',
    params(
      'x',
      'dy',
      'dw',
      'acc',
      'row',
      'batch',
      'inH',
      'inW',
      'C',
      'mult',
      'outH',
      'outW',
      'kH',
      'kW',
      'sH',
      'sW',
      'dH',
      'dW',
      'pT',
      'pL',
      'simd',
    ),
  );
  f.locals(
    'i32',
    'b',
    'oh',
    'ow',
    'kh',
    'kw',
    'ih',
    'iw',
    'c',
    'm',
    'j',
    'n',
    'outC',
    'yrow',
    'yp',
    'xrow',
    'xp',
    'rp',
    'pixIn',
    'pixOut',
    'o',
  );
  f.locals('f32', 'xv');
  const g = f.get;
  const body: Code = [
    f.set('outC', mul(g('C'), g('mult'))),
    f.set('n', mul(g('kH'), g('kW'), g('outC'))),
    f.set('pixIn', mul(g('C'), i32c(4))),
    f.set('pixOut', mul(g('outC'), i32c(4))),
    memfill(g('acc'), i32c(0), mul(g('n'), i32c(8))),
    f.for('b', i32c(0), g('batch'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        memfill(g('row'), i32c(0), mul(g('n'), i32c(4))),
        f.set('yrow', add(g('dy'), mul(add(mul(g('b'), g('outH')), g('oh')), g('outW'), g('pixOut')))),
        f.for('kh', i32c(0), g('kH'), i32c(1), [
          f.set('ih', sub(add(mul(g('oh'), g('sH')), mul(g('kh'), g('dH'))), g('pT'))),
          ifThen(inRange(g('ih'), g('inH')), [
            f.set('xrow', add(g('x'), mul(add(mul(g('b'), g('inH')), g('ih')), g('inW'), g('pixIn')))),
            f.for('kw', i32c(0), g('kW'), i32c(1), [
              f.set('rp', add(g('row'), mul(add(mul(g('kh'), g('kW')), g('kw')), g('pixOut')))),
              f.set('iw', sub(mul(g('kw'), g('dW')), g('pL'))),
              f.set('yp', g('yrow')),
              f.for('ow', i32c(0), g('outW'), i32c(1), [
                ifThen(inRange(g('iw'), g('inW')), [
                  f.set('xp', add(g('xrow'), mul(g('iw'), g('pixIn')))),
                  ifThen(
                    g('simd'),
                    f.for('j', i32c(0), g('pixIn'), i32c(16), [
                      v128store(add(g('rp'), g('j')), [
                        v128load(add(g('rp'), g('j'))),
                        [v128load(add(g('xp'), g('j'))), v128load(add(g('yp'), g('j'))), op.f32x4.mul],
                        op.f32x4.add,
                      ]),
                    ]),
                    [
                      f.set('o', i32c(0)),
                      f.for('c', i32c(0), g('C'), i32c(1), [
                        f.set('xv', f32load(f32addr(g('xp'), g('c')))),
                        f.for('m', i32c(0), g('mult'), i32c(1), [
                          f32store(f32addr(g('rp'), g('o')), [
                            f32load(f32addr(g('rp'), g('o'))),
                            [g('xv'), f32load(f32addr(g('yp'), g('o'))), op.f32.mul],
                            op.f32.add,
                          ]),
                          f.inc('o', i32c(1)),
                        ]),
                      ]),
                    ],
                  ),
                ]),
                f.inc('yp', g('pixOut')),
                f.inc('iw', g('sW')),
              ]),
            ]),
          ]),
        ]),
        f.for('j', i32c(0), g('n'), i32c(1), [
          f64store(add(g('acc'), mul(g('j'), i32c(8))), [
            f64load(add(g('acc'), mul(g('j'), i32c(8)))),
            [f32load(f32addr(g('row'), g('j'))), op.f64.promote_f32],
            op.f64.add,
          ]),
        ]),
      ]),
    ]),
    f.for('j', i32c(0), g('n'), i32c(1), [
      f32store(f32addr(g('dw'), g('j')), [f64load(add(g('acc'), mul(g('j'), i32c(8)))), op.f32.demote_f64]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * dwInputGrad(dy, w, dx, batch, inH, inW, C, mult, outH, outW, kH, kW, sH, sW, dH, dW, pT, pL,
 * simd): dx = 0, then dx[b, ih, iw, c] += sum_m dy[b, oh, ow, c*mult + m] * w[kh, kw, c, m].
 */
function dwInputGrad(): { fn: Fn; body: Code } {
  const f = new Fn(
    'dwInputGrad',
    params('dy', 'w', 'dx', 'batch', 'inH', 'inW', 'C', 'mult', 'outH', 'outW', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'pT', 'pL', 'simd'),
  );
  f.locals('i32', 'b', 'oh', 'ow', 'kh', 'kw', 'ih', 'iw', 'c', 'm', 'j', 'outC', 'yrow', 'yp', 'xrow', 'xp', 'wp', 'pixIn', 'pixOut', 'o');
  f.locals('f32', 's');
  const g = f.get;
  const body: Code = [
    f.set('outC', mul(g('C'), g('mult'))),
    f.set('pixIn', mul(g('C'), i32c(4))),
    f.set('pixOut', mul(g('outC'), i32c(4))),
    memfill(g('dx'), i32c(0), mul(g('batch'), g('inH'), g('inW'), g('pixIn'))),
    f.for('b', i32c(0), g('batch'), i32c(1), [
      f.for('oh', i32c(0), g('outH'), i32c(1), [
        f.set('yrow', add(g('dy'), mul(add(mul(g('b'), g('outH')), g('oh')), g('outW'), g('pixOut')))),
        f.for('kh', i32c(0), g('kH'), i32c(1), [
          f.set('ih', sub(add(mul(g('oh'), g('sH')), mul(g('kh'), g('dH'))), g('pT'))),
          ifThen(inRange(g('ih'), g('inH')), [
            f.set('xrow', add(g('dx'), mul(add(mul(g('b'), g('inH')), g('ih')), g('inW'), g('pixIn')))),
            f.for('kw', i32c(0), g('kW'), i32c(1), [
              f.set('wp', add(g('w'), mul(add(mul(g('kh'), g('kW')), g('kw')), g('pixOut')))),
              f.set('iw', sub(mul(g('kw'), g('dW')), g('pL'))),
              f.set('yp', g('yrow')),
              f.for('ow', i32c(0), g('outW'), i32c(1), [
                ifThen(inRange(g('iw'), g('inW')), [
                  f.set('xp', add(g('xrow'), mul(g('iw'), g('pixIn')))),
                  ifThen(
                    g('simd'),
                    f.for('j', i32c(0), g('pixIn'), i32c(16), [
                      v128store(add(g('xp'), g('j')), [
                        v128load(add(g('xp'), g('j'))),
                        [v128load(add(g('yp'), g('j'))), v128load(add(g('wp'), g('j'))), op.f32x4.mul],
                        op.f32x4.add,
                      ]),
                    ]),
                    [
                      f.set('o', i32c(0)),
                      f.for('c', i32c(0), g('C'), i32c(1), [
                        f.set('s', f32c(0)),
                        f.for('m', i32c(0), g('mult'), i32c(1), [
                          f.set('s', [
                            g('s'),
                            [f32load(f32addr(g('yp'), g('o'))), f32load(f32addr(g('wp'), g('o'))), op.f32.mul],
                            op.f32.add,
                          ]),
                          f.inc('o', i32c(1)),
                        ]),
                        f32store(f32addr(g('xp'), g('c')), [f32load(f32addr(g('xp'), g('c'))), g('s'), op.f32.add]),
                      ]),
                    ],
                  ),
                ]),
                f.inc('yp', g('pixOut')),
                f.inc('iw', g('sW')),
              ]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * colSum(x, out, acc64, row32, rows, cols, scale, simd): out[c] = scale * sum_r x[r, c], for a
 * row-major [rows, cols] float32 matrix (a reduction over leading axes, e.g. per-channel sums
 * of NHWC). Blocks of 64 rows are summed in float32 (SIMD when cols % 4 == 0), then folded
 * into float64.
 */
function colSum(): { fn: Fn; body: Code } {
  const f = new Fn('colSum', [...params('x', 'out', 'acc', 'row', 'rows', 'cols'), ['scale', 'f64'], ['simd', 'i32']]);
  f.locals('i32', 'r', 'rEnd', 'rr', 'j', 'c', 'xp', 'rowB');
  const g = f.get;
  const body: Code = [
    f.set('rowB', mul(g('cols'), i32c(4))),
    memfill(g('acc'), i32c(0), mul(g('cols'), i32c(8))),
    f.set('xp', g('x')),
    f.for('r', i32c(0), g('rows'), i32c(64), [
      f.set('rEnd', min32(add(g('r'), i32c(64)), g('rows'))),
      memfill(g('row'), i32c(0), g('rowB')),
      f.for('rr', g('r'), g('rEnd'), i32c(1), [
        ifThen(
          g('simd'),
          f.for('j', i32c(0), g('rowB'), i32c(16), [
            v128store(add(g('row'), g('j')), [v128load(add(g('row'), g('j'))), v128load(add(g('xp'), g('j'))), op.f32x4.add]),
          ]),
          f.for('c', i32c(0), g('cols'), i32c(1), [
            f32store(f32addr(g('row'), g('c')), [f32load(f32addr(g('row'), g('c'))), f32load(f32addr(g('xp'), g('c'))), op.f32.add]),
          ]),
        ),
        f.inc('xp', g('rowB')),
      ]),
      f.for('c', i32c(0), g('cols'), i32c(1), [
        f64store(add(g('acc'), mul(g('c'), i32c(8))), [
          f64load(add(g('acc'), mul(g('c'), i32c(8)))),
          [f32load(f32addr(g('row'), g('c'))), op.f64.promote_f32],
          op.f64.add,
        ]),
      ]),
    ]),
    f.for('c', i32c(0), g('cols'), i32c(1), [
      f32store(f32addr(g('out'), g('c')), [f64load(add(g('acc'), mul(g('c'), i32c(8)))), g('scale'), op.f64.mul, op.f32.demote_f64]),
    ]),
  ];
  return { fn: f, body };
}

/**
 * bnGradSums(dy, x, m, out, acc64, row32, rows, cols, simd): the two per-channel sums a batch
 * norm's gradient needs, out[c] = sum_r dy[r, c] and out[cols + c] = sum_r dy[r, c] * (x[r, c] -
 * m[c]), in one pass over dy and x. Blocks of 64 rows in float32 (SIMD when cols % 4 == 0),
 * folded into float64 as in colSum.
 */
function bnGradSums(): { fn: Fn; body: Code } {
  const f = new Fn('bnGradSums', params('dy', 'x', 'm', 'out', 'acc', 'row', 'rows', 'cols', 'simd'));
  f.locals('i32', 'r', 'rEnd', 'rr', 'j', 'c', 'dp', 'xp', 'rowB', 'row2');
  f.locals('v128', 'd');
  f.locals('f32', 'ds');
  const g = f.get;
  const body: Code = [
    f.set('rowB', mul(g('cols'), i32c(4))),
    f.set('row2', add(g('row'), g('rowB'))),
    memfill(g('acc'), i32c(0), mul(g('cols'), i32c(16))),
    f.set('dp', g('dy')),
    f.set('xp', g('x')),
    f.for('r', i32c(0), g('rows'), i32c(64), [
      f.set('rEnd', min32(add(g('r'), i32c(64)), g('rows'))),
      memfill(g('row'), i32c(0), mul(g('rowB'), i32c(2))),
      f.for('rr', g('r'), g('rEnd'), i32c(1), [
        ifThen(
          g('simd'),
          f.for('j', i32c(0), g('rowB'), i32c(16), [
            f.set('d', v128load(add(g('dp'), g('j')))),
            v128store(add(g('row'), g('j')), [v128load(add(g('row'), g('j'))), g('d'), op.f32x4.add]),
            v128store(add(g('row2'), g('j')), [
              v128load(add(g('row2'), g('j'))),
              [g('d'), [v128load(add(g('xp'), g('j'))), v128load(add(g('m'), g('j'))), op.f32x4.sub], op.f32x4.mul],
              op.f32x4.add,
            ]),
          ]),
          f.for('j', i32c(0), g('rowB'), i32c(4), [
            f.set('ds', f32load(add(g('dp'), g('j')))),
            f32store(add(g('row'), g('j')), [f32load(add(g('row'), g('j'))), g('ds'), op.f32.add]),
            f32store(add(g('row2'), g('j')), [
              f32load(add(g('row2'), g('j'))),
              [g('ds'), [f32load(add(g('xp'), g('j'))), f32load(add(g('m'), g('j'))), op.f32.sub], op.f32.mul],
              op.f32.add,
            ]),
          ]),
        ),
        f.inc('dp', g('rowB')),
        f.inc('xp', g('rowB')),
      ]),
      f.for('c', i32c(0), mul(g('cols'), i32c(2)), i32c(1), [
        f64store(add(g('acc'), mul(g('c'), i32c(8))), [
          f64load(add(g('acc'), mul(g('c'), i32c(8)))),
          [f32load(f32addr(g('row'), g('c'))), op.f64.promote_f32],
          op.f64.add,
        ]),
      ]),
    ]),
    f.for('c', i32c(0), mul(g('cols'), i32c(2)), i32c(1), [
      f32store(f32addr(g('out'), g('c')), [f64load(add(g('acc'), mul(g('c'), i32c(8)))), op.f32.demote_f64]),
    ]),
  ];
  return { fn: f, body };
}

/** Element-wise binary ops on float32 operands: [simd op, scalar op, compare (bool output)]. */
export const BINARY_OPS = {
  Minimum: [op.f32x4.min, op.f32.min, false],
  Maximum: [op.f32x4.max, op.f32.max, false],
  Greater: [op.f32x4.gt, op.f32.gt, true],
  GreaterEqual: [op.f32x4.ge, op.f32.ge, true],
  Less: [op.f32x4.lt, op.f32.lt, true],
  LessEqual: [op.f32x4.le, op.f32.le, true],
  Add: [op.f32x4.add, op.f32.add, false],
  Sub: [op.f32x4.sub, op.f32.sub, false],
  Multiply: [op.f32x4.mul, op.f32.mul, false],
  RealDiv: [op.f32x4.div, op.f32.div, false],
} as const satisfies Record<string, readonly [Code, Code, boolean]>;
export type BinaryOpName = keyof typeof BINARY_OPS;

/**
 * <name>(a, b, out, rows, cols, aRowStep, bRowStep, aScalar, bScalar, simd): out[r, c] =
 * a[r, c] OP b[r, c] over a [rows, cols] output, where an operand is either full (row step
 * cols*4 bytes), one row broadcast over all rows (row step 0) or a scalar (flag). Comparisons
 * write bool bytes (0/1). simd=1 needs cols % 4 == 0.
 */
function binary(name: BinaryOpName): { fn: Fn; body: Code } {
  const [simdOp, scalarOp, compare] = BINARY_OPS[name];
  const f = new Fn(name, params('a', 'b', 'out', 'rows', 'cols', 'aRowStep', 'bRowStep', 'aScalar', 'bScalar', 'simd'));
  f.locals('i32', 'r', 'j', 'ap', 'bp', 'o', 'rowB');
  f.locals('v128', 'as', 'bs', 'res');
  f.locals('f32', 'sa', 'sb');
  const g = f.get;
  const vec = (scalarFlag: string, splat: string, ptr: string): Code =>
    ifValue('v128', g(scalarFlag), g(splat), v128load(add(g(ptr), g('j'))));
  const one = (scalarFlag: string, value: string, ptr: string): Code =>
    ifValue('f32', g(scalarFlag), g(value), f32load(add(g(ptr), g('j'))));
  const body: Code = [
    f.set('rowB', mul(g('cols'), i32c(4))),
    f.set('as', v128load32splat(g('a'))),
    f.set('bs', v128load32splat(g('b'))),
    f.set('sa', f32load(g('a'))),
    f.set('sb', f32load(g('b'))),
    f.set('o', g('out')),
    f.for('r', i32c(0), g('rows'), i32c(1), [
      f.set('ap', add(g('a'), mul(g('r'), g('aRowStep')))),
      f.set('bp', add(g('b'), mul(g('r'), g('bRowStep')))),
      ifThen(
        g('simd'),
        f.for('j', i32c(0), g('rowB'), i32c(16), [
          f.set('res', [vec('aScalar', 'as', 'ap'), vec('bScalar', 'bs', 'bp'), simdOp]),
          compare
            ? [
                // lanes are all-ones or zero: keep 1 per lane, narrow 4 x i32 to 4 bytes
                f.set('res', [g('res'), [i32c(1), op.i32x4.splat], op.v128.and]),
                f.set('res', [g('res'), g('res'), op.i16x8.narrow_i32x4_u]),
                f.set('res', [g('res'), g('res'), op.i8x16.narrow_i16x8_u]),
                i32store(g('o'), [g('res'), op.i32x4.extract_lane0]),
                f.inc('o', i32c(4)),
              ]
            : [v128store(g('o'), g('res')), f.inc('o', i32c(16))],
        ]),
        f.for('j', i32c(0), g('rowB'), i32c(4), [
          compare
            ? [i32store8(g('o'), [one('aScalar', 'sa', 'ap'), one('bScalar', 'sb', 'bp'), scalarOp]), f.inc('o', i32c(1))]
            : [f32store(g('o'), [one('aScalar', 'sa', 'ap'), one('bScalar', 'sb', 'bp'), scalarOp]), f.inc('o', i32c(4))],
        ]),
      ),
    ]),
  ];
  return { fn: f, body };
}

/**
 * batchNorm(x, p, out, rows, cols, simd): out[r, c] = (x[r, c] - m[c]) * s[c] + o[c], with
 * m, s, o packed at p (three rows of cols floats). simd=1 needs cols % 4 == 0.
 */
function batchNorm(): { fn: Fn; body: Code } {
  const f = new Fn('batchNorm', params('x', 'p', 'out', 'rows', 'cols', 'simd'));
  f.locals('i32', 'r', 'j', 'xp', 'op', 'rowB', 'm', 's', 'o');
  const g = f.get;
  const body: Code = [
    f.set('rowB', mul(g('cols'), i32c(4))),
    f.set('m', g('p')),
    f.set('s', add(g('p'), g('rowB'))),
    f.set('o', add(g('p'), g('rowB'), g('rowB'))),
    f.set('xp', g('x')),
    f.set('op', g('out')),
    f.for('r', i32c(0), g('rows'), i32c(1), [
      ifThen(
        g('simd'),
        f.for('j', i32c(0), g('rowB'), i32c(16), [
          v128store(add(g('op'), g('j')), [
            [[v128load(add(g('xp'), g('j'))), v128load(add(g('m'), g('j'))), op.f32x4.sub], v128load(add(g('s'), g('j'))), op.f32x4.mul],
            v128load(add(g('o'), g('j'))),
            op.f32x4.add,
          ]),
        ]),
        f.for('j', i32c(0), g('rowB'), i32c(4), [
          f32store(add(g('op'), g('j')), [
            [[f32load(add(g('xp'), g('j'))), f32load(add(g('m'), g('j'))), op.f32.sub], f32load(add(g('s'), g('j'))), op.f32.mul],
            f32load(add(g('o'), g('j'))),
            op.f32.add,
          ]),
        ]),
      ),
      f.inc('xp', g('rowB')),
      f.inc('op', g('rowB')),
    ]),
  ];
  return { fn: f, body };
}

export interface SimdKernels {
  im2colT(...args: number[]): void;
  im2col(...args: number[]): void;
  gemmTN(...args: number[]): void;
  col2imAdd(...args: number[]): void;
  maxPoolGrad(...args: number[]): void;
  maxPoolGradSimd(...args: number[]): void;
  dwFilterGrad(...args: number[]): void;
  dwInputGrad(...args: number[]): void;
  colSum(...args: number[]): void;
  batchNorm(...args: number[]): void;
  bnGradSums(...args: number[]): void;
  Add(...args: number[]): void;
  Sub(...args: number[]): void;
  Multiply(...args: number[]): void;
  RealDiv(...args: number[]): void;
  Minimum(...args: number[]): void;
  Maximum(...args: number[]): void;
  Greater(...args: number[]): void;
  GreaterEqual(...args: number[]): void;
  Less(...args: number[]): void;
  LessEqual(...args: number[]): void;
}

export function buildKernelModule(shared: boolean): Uint8Array {
  return assemble(
    [
      im2colT(),
      im2col(),
      gemmTN(),
      col2imAdd(),
      maxPoolGrad(),
      maxPoolGradSimd(),
      dwFilterGrad(),
      dwInputGrad(),
      colSum(),
      batchNorm(),
      bnGradSums(),
      ...(Object.keys(BINARY_OPS) as BinaryOpName[]).map(binary),
    ],
    { shared },
  );
}

const cache = new WeakMap<WebAssembly.Memory, SimdKernels | null | Promise<void>>();

/**
 * Instantiates the kernels against `memory` (once per memory); null where that fails or is not
 * ready yet. Compiling is synchronous (Web Workers, Node); where a synchronous compile is refused
 * (a browser main thread refuses modules over 4 KB) it goes on asynchronously and the JS
 * fallbacks run until it is ready.
 */
export function simdKernelsFor(memory: WebAssembly.Memory): SimdKernels | null {
  const cached = cache.get(memory);
  if (cached !== undefined) return cached instanceof Promise ? null : cached;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const imports = { env: { memory } };
  let bytes: Uint8Array;
  try {
    bytes = buildKernelModule(shared);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports);
    const kernels = instance.exports as WebAssembly.Exports & SimdKernels;
    cache.set(memory, kernels);
    return kernels;
  } catch {
    if (typeof WebAssembly.instantiate !== 'function' || !bytes! || !WebAssembly.validate(bytes as BufferSource)) {
      cache.set(memory, null); // no SIMD here (or no way to compile): JS fallbacks for good
      return null;
    }
    cache.set(
      memory,
      WebAssembly.instantiate(bytes as BufferSource, imports).then(
        ({ instance }) => void cache.set(memory, instance.exports as WebAssembly.Exports & SimdKernels),
        () => void cache.set(memory, null),
      ),
    );
    return null;
  }
}
