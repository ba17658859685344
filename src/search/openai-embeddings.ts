import OpenAI from 'openai';
import { MemvaultError, validationError } from '../core/errors.js';
import type { Embeddings } from '../ports/search.js';

export interface OpenAiEmbeddingsOptions {
  /** An OpenAI-compatible API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama). */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly model: string;
  /** Budget for one request, retries included. Default 3000 ms. */
  readonly timeoutMs?: number;
  /**
   * Vector size. Known for OpenAI's models; required for others (Ollama, vLLM…). For text-embedding-3 models it
   * is also sent, so the endpoint shortens its vectors to it.
   */
  readonly dimensions?: number;
  /** Retries on 429/5xx/network errors inside the budget. Default 1. */
  readonly maxRetries?: number;
  /** Inputs per request. Default 256. */
  readonly batchSize?: number;
}

const KNOWN_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/**
 * Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint, through the official client. A request that
 * exceeds its time budget, fails on the network or answers with malformed vectors rejects with
 * NETWORK_ERROR; the search index then answers with its lexical signals alone (the fallback).
 * @throws MemvaultError VALIDATION_ERROR for a bad configuration.
 */
export function createOpenAiEmbeddings(options: OpenAiEmbeddingsOptions): Embeddings {
  let url: URL;
  try {
    url = new URL(options.baseURL);
  } catch (cause) {
    throw validationError('The embeddings base URL is not a valid URL.', { field: 'baseURL' }, cause);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw validationError('The embeddings base URL must use http or https.', { field: 'baseURL' });
  }
  if (!options.model) throw validationError('Name the embeddings model.', { field: 'model' });
  const dimensions = options.dimensions ?? KNOWN_DIMENSIONS[options.model];
  if (!dimensions || !Number.isInteger(dimensions) || dimensions < 1) {
    throw validationError(`Set the vector size (dimensions) of embeddings model "${options.model.slice(0, 80)}".`, {
      field: 'dimensions',
    });
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  const batchSize = Math.max(1, options.batchSize ?? 256);
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    timeout: timeoutMs,
    maxRetries: options.maxRetries ?? 1,
  });
  const sendDimensions = options.dimensions !== undefined && options.model.startsWith('text-embedding-3');

  const request = async (input: string[]): Promise<Float32Array[]> => {
    // One deadline for the whole call, retries included: the client's own timeout applies per attempt.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: OpenAI.CreateEmbeddingResponse;
    try {
      response = await client.embeddings.create(
        {
          model: options.model,
          // The API rejects empty strings; a space embeds to "nothing in particular".
          input: input.map((t) => (t.trim().length === 0 ? ' ' : t)),
          encoding_format: 'float',
          ...(sendDimensions ? { dimensions } : {}),
        },
        { signal: controller.signal },
      );
    } catch (cause) {
      const status = cause instanceof OpenAI.APIError ? cause.status : undefined;
      const what = controller.signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : status
          ? `failed with HTTP ${status}`
          : 'could not be reached';
      throw new MemvaultError('NETWORK_ERROR', `The embeddings endpoint ${what}; search falls back to words.`, {
        cause,
        details: { model: options.model, ...(status ? { status } : {}) },
      });
    } finally {
      clearTimeout(timer);
    }
    const vectors: Float32Array[] = new Array(input.length);
    for (const item of response.data ?? []) {
      const v = item.embedding as unknown;
      if (
        !Number.isInteger(item.index) ||
        item.index < 0 ||
        item.index >= input.length ||
        !Array.isArray(v) ||
        v.length !== dimensions ||
        !v.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        throw malformed(options.model);
      }
      vectors[item.index] = Float32Array.from(v as number[]);
    }
    for (let i = 0; i < input.length; i++) if (!vectors[i]) throw malformed(options.model);
    return vectors;
  };

  return {
    dimensions,
    name: `openai:${options.model}/${dimensions}`,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) out.push(...(await request(texts.slice(i, i + batchSize))));
      return out;
    },
  };
}

function malformed(model: string): MemvaultError {
  return new MemvaultError('NETWORK_ERROR', 'The embeddings endpoint answered with malformed vectors.', {
    details: { model },
  });
}
