/**
 * Serialises async work per key inside one process: calls with the same key run one after another in call
 * order; different keys run concurrently. Keys with nothing queued hold no memory.
 */
export class KeyedMutex<K = string> {
  readonly #tails = new Map<K, Promise<void>>();

  /** Runs `fn` once every earlier `run` with the same key has settled; resolves or rejects with `fn`'s result. */
  run<T>(key: K, fn: () => Promise<T> | T): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    // The chain must survive a rejected `fn`, so the tail swallows the outcome; the caller still sees it.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** True while some work for `key` is queued or running. */
  isLocked(key: K): boolean {
    return this.#tails.has(key);
  }

  /** Number of keys with queued or running work. */
  get size(): number {
    return this.#tails.size;
  }

  /** Resolves when all work queued so far has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }
}
