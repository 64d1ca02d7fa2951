import type { ModelConfig } from '../config.js';

/** Where a parsed configuration came from, for a `checkConfig` hook's messages. */
export interface ConfigSource {
  /** The file the configuration was read from (config.json or the .bin). */
  path: string;
  /** 'hf': config.json field names (max_position_embeddings); 'llama2c': header field names (seq_len). */
  format: 'hf' | 'llama2c';
}

export interface LoadModelOptions {
  /**
   * Called with the parsed configuration before anything is allocated (weights, RoPE tables); throw to refuse
   * the checkpoint (services pass size limits and a memory budget here).
   */
  checkConfig?: (config: ModelConfig, source: ConfigSource) => void;
}
