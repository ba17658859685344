import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATEGORIES, type Category } from '../core/category.js';
import { MemvaultError } from '../core/errors.js';
import { featurize, type SparseVector } from './features.js';

/** File names of a trained model inside its folder. */
export const MODEL_META = 'model.json';
export const MODEL_WEIGHTS = 'model.bin';

/** What `model.json` holds; the weights are `model.bin` (int8, class-major, one scale per class). */
export interface TextModelMeta {
  readonly format: 'memvault-softmax-v1';
  readonly bits: number;
  readonly classes: readonly Category[];
  readonly bias: readonly number[];
  readonly scales: readonly number[];
  readonly trainedAt: string;
  readonly trainingExamples: number;
  readonly hyper: Readonly<Record<string, number>>;
}

/**
 * Multinomial logistic regression over hashed word and character n-grams. Prediction is a sparse dot
 * product per class: a few hundred multiply-adds for a typical message.
 */
export class TextModel {
  /**
   * `weights` are class-major; a loaded model keeps the file's int8 values and multiplies each class's sum by its
   * scale (no 1.3 M-entry float copy at load), a freshly trained one keeps floats with a scale of 1.
   */
  private constructor(
    readonly meta: TextModelMeta,
    private readonly weights: Float32Array | Int8Array,
    private readonly classScales: readonly number[] = meta.classes.map(() => 1),
  ) {}

  /** The float value of weight `i` (class-major). */
  private weight(i: number): number {
    return this.weights[i]! * this.classScales[Math.floor(i / (1 << this.meta.bits))]!;
  }

  /** Loads `model.json` + `model.bin` from `dir`. */
  static load(dir: string): TextModel {
    let meta: TextModelMeta;
    let raw: Buffer;
    try {
      meta = JSON.parse(readFileSync(join(dir, MODEL_META), 'utf8')) as TextModelMeta;
      raw = readFileSync(join(dir, MODEL_WEIGHTS));
    } catch (cause) {
      throw new MemvaultError(
        'CLASSIFICATION_ERROR',
        `No classifier model in ${dir}. Run "npx tsx scripts/train-classifier.ts" or reinstall memvault.`,
        { cause },
      );
    }
    const dim = 1 << meta.bits;
    if (meta.format !== 'memvault-softmax-v1' || raw.length !== dim * meta.classes.length) {
      throw new MemvaultError('CLASSIFICATION_ERROR', `The classifier model in ${dir} is damaged; retrain it.`);
    }
    const q = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
    return new TextModel(
      meta,
      q,
      meta.classes.map((_, c) => meta.scales[c] ?? 0),
    );
  }

  /** Wraps freshly trained float weights (class-major, `classes.length << bits` long). */
  static fromWeights(meta: Omit<TextModelMeta, 'scales'>, weights: Float32Array): TextModel {
    return new TextModel({ ...meta, scales: meta.classes.map(() => 0) }, weights);
  }

  /**
   * The mean of models trained on the same data with different seeds: one SGD run's weights depend on the
   * order it saw the examples in, and averaging a few runs removes most of that noise at no cost at runtime.
   */
  static average(models: readonly TextModel[]): TextModel {
    const first = models[0];
    if (!first) throw new MemvaultError('CLASSIFICATION_ERROR', 'No models to average.');
    const weights = new Float32Array(first.weights.length);
    for (const m of models) for (let i = 0; i < weights.length; i++) weights[i]! += m.weight(i) / models.length;
    const bias = first.meta.bias.map(
      (_, c) => models.reduce((sum, m) => sum + (m.meta.bias[c] ?? 0), 0) / models.length,
    );
    return new TextModel({ ...first.meta, bias, hyper: { ...first.meta.hyper, seeds: models.length } }, weights);
  }

  featurize(text: string): SparseVector {
    return featurize(text, { bits: this.meta.bits });
  }

  /** Class probabilities, in `CATEGORIES` order. */
  predict(text: string): Record<Category, number> {
    return this.predictVector(this.featurize(text));
  }

  predictVector(x: SparseVector): Record<Category, number> {
    const dim = 1 << this.meta.bits;
    const classes = this.meta.classes;
    const logits = classes.map((_, c) => {
      let z = 0;
      const base = c * dim;
      for (let i = 0; i < x.indices.length; i++) z += this.weights[base + x.indices[i]!]! * x.values[i]!;
      return (this.meta.bias[c] ?? 0) + z * this.classScales[c]!;
    });
    const probs = softmax(logits);
    const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
    classes.forEach((c, i) => {
      out[c] = probs[i] ?? 0;
    });
    return out;
  }

  /** Writes the model, quantising each class's weights to int8 with its own scale; atomic per file. */
  save(dir: string): void {
    const dim = 1 << this.meta.bits;
    const q = new Int8Array(this.weights.length);
    const scales: number[] = [];
    for (let c = 0; c < this.meta.classes.length; c++) {
      let max = 0;
      for (let i = c * dim; i < (c + 1) * dim; i++) max = Math.max(max, Math.abs(this.weight(i)));
      const scale = max / 127 || 1;
      scales.push(scale);
      for (let i = c * dim; i < (c + 1) * dim; i++) q[i] = Math.round(this.weight(i) / scale);
    }
    const meta: TextModelMeta = { ...this.meta, scales };
    const write = (name: string, data: string | Uint8Array) => {
      const tmp = join(dir, `.${name}.tmp`);
      writeFileSync(tmp, data);
      renameSync(tmp, join(dir, name));
    };
    write(MODEL_WEIGHTS, new Uint8Array(q.buffer));
    write(MODEL_META, `${JSON.stringify(meta, null, 2)}\n`);
  }
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

export interface TrainOptions {
  readonly bits?: number;
  readonly epochs?: number;
  readonly learningRate?: number;
  readonly l2?: number;
  /** Seeded shuffling for reproducible models. */
  readonly seed?: number;
  /** Per-class weight on the loss; > 1 penalises missing that class more (used to favour protection). */
  readonly classWeights?: Partial<Record<Category, number>>;
}

/**
 * Trains the softmax model with AdaGrad-SGD and L2 (lazy decay per touched bucket). Deterministic for a
 * given seed and input order.
 */
export function trainTextModel(
  examples: ReadonlyArray<{ readonly text: string; readonly label: Category; readonly weight?: number }>,
  options: TrainOptions = {},
): TextModel {
  const bits = options.bits ?? 16;
  const epochs = options.epochs ?? 25;
  const lr = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-5;
  const classes = [...CATEGORIES];
  const k = classes.length;
  const dim = 1 << bits;
  const w = new Float32Array(k * dim);
  const g2 = new Float32Array(k * dim).fill(1e-8);
  const bias = new Float64Array(k);
  const bg2 = new Float64Array(k).fill(1e-8);
  const xs = examples.map((e) => ({ x: featurize(e.text, { bits }), y: classes.indexOf(e.label), w: e.weight ?? 1 }));
  const cw = classes.map((c) => options.classWeights?.[c] ?? 1);

  let s = options.seed ?? 1;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const order = xs.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const idx of order) {
      const { x, y, w: exampleWeight } = xs[idx]!;
      const logits: number[] = [];
      for (let c = 0; c < k; c++) {
        let z = bias[c]!;
        for (let i = 0; i < x.indices.length; i++) z += w[c * dim + x.indices[i]!]! * x.values[i]!;
        logits.push(z);
      }
      const p = softmax(logits);
      const weight = (cw[y] ?? 1) * exampleWeight;
      for (let c = 0; c < k; c++) {
        const err = weight * ((p[c] ?? 0) - (c === y ? 1 : 0));
        bg2[c]! += err * err;
        bias[c]! -= (lr * err) / Math.sqrt(bg2[c]!);
        for (let i = 0; i < x.indices.length; i++) {
          const at = c * dim + x.indices[i]!;
          const grad = err * x.values[i]! + l2 * w[at]!;
          g2[at]! += grad * grad;
          w[at]! -= (lr * grad) / Math.sqrt(g2[at]!);
        }
      }
    }
  }
  return TextModel.fromWeights(
    {
      format: 'memvault-softmax-v1',
      bits,
      classes,
      bias: [...bias],
      trainedAt: new Date().toISOString(),
      trainingExamples: examples.length,
      hyper: { epochs, learningRate: lr, l2, bits },
    },
    w,
  );
}
