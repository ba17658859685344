/** memvault search: the hybrid per-user index and the embeddings behind it (DESIGN §6). */
export { createSearchIndex, SIGNALS, type SearchIndexOptions, type SearchLogger, type Signal } from './search-index.js';
export {
  createWordVectorEmbeddings,
  loadWordVectorTable,
  type WordVectorOptions,
  type WordVectorTable,
} from './word-vectors.js';
export { parseQuery, type ParsedQuery, type TimeRange } from './query.js';
export { indexPath } from './persist.js';
