// Loading a keepalived.conf: pre-process → parse (nearley grammar) → typed model.

import { hostname } from 'node:os';
import { Diagnostics, SourceMap } from './diagnostics.js';
import { Preprocessor, type PreprocessOptions } from './preprocess.js';
import { StmtParser } from './parse.js';
import { ModelBuilder } from './model/build.js';
import { Ctx } from './model/context.js';
import { realEnvironment, type Environment } from './env.js';
import type { Config } from './model/types.js';

export interface LoadOptions {
  /** -i/--config-id; default: host name up to the first '.' (keepalived) */
  configId?: string;
  env?: Environment;
  processEnv?: NodeJS.ProcessEnv;
  randomSeed?: number;
  maxLines?: number;
  /**
   * Every message, but not the whole model (`hacheck -t`): virtual servers finished as
   * they are read are counted in `config.lvs.checkedOnly` instead of being kept.
   */
  checkOnly?: boolean;
}

export interface Loaded {
  config: Config;
  diags: Diagnostics;
  sources: SourceMap;
  files: string[];
}

export function defaultConfigId(host = hostname()): string {
  return host.split('.')[0];
}

function load(run: (pp: Preprocessor) => void, opts: LoadOptions): Loaded {
  const diags = new Diagnostics();
  const env = opts.env ?? realEnvironment();
  const ppOpts: PreprocessOptions = {
    configId: opts.configId ?? defaultConfigId(env.hostname),
    env: opts.processEnv,
    randomSeed: opts.randomSeed,
    maxLines: opts.maxLines,
  };
  // lines stream from the pre-processor through the parser into the model: a top-level
  // block is turned into model objects as soon as it is complete, and then dropped
  const model = new ModelBuilder(new Ctx(diags, env, opts.checkOnly));
  let pp: Preprocessor | undefined = undefined;
  const parser = new StmtParser(diags, model.add, { includeCheck: (args) => pp?.setIncludeCheck(args) });
  pp = new Preprocessor(diags, ppOpts, parser.line, parser.lineWords);
  run(pp);
  parser.end();
  const config = model.finish();
  return { config, diags, sources: pp.sources, files: pp.files };
}

export function loadConfigFile(path: string, opts: LoadOptions = {}): Loaded {
  return load((pp) => pp.run(path), opts);
}

export function loadConfigText(text: string, opts: LoadOptions & { file?: string } = {}): Loaded {
  return load((pp) => pp.runText(text, opts.file), opts);
}
