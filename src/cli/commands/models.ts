/**
 * `embedq models`: the model catalogue and the models of the configured providers, with sizes,
 * limits, prices and batch support. Reads only the config: no Redis, no Postgres.
 */
import type { Command } from 'commander';
import type { Config } from '../../config/schema.ts';
import { hasBatchApi } from '../../providers/batch-backend.ts';
import { listModels } from '../../providers/models.ts';
import type { CommandEnv } from '../command.ts';
import { table } from '../output.ts';

export interface ModelRow {
  /** `provider/model` for `--model`; null for a catalogue row no configured provider serves. */
  id: string | null;
  provider: string | null;
  kind: string;
  model: string;
  /** null: not configured, probed by the first ingest or reembed (docs/providers.md). */
  nativeDims: number | null;
  /** Sizes obtained without padding: `provider` (asked of the API), `truncate` (Matryoshka prefix), or the native range. */
  dims: { provider: readonly number[] | 'up-to-native' | null; truncate: boolean; nativeRange: readonly [number, number] | null };
  maxInputTokens: number;
  maxInputsPerRequest: number;
  maxTokensPerRequest: number;
  priceSyncPerMTok: number;
  priceBatchPerMTok: number | null;
  batchApi: boolean;
  inputTypes: boolean;
  /** The Azure deployment an `azure-openai` model is sent to; null for other kinds. */
  deployment: string | null;
}

export function runModels(config: Config, o: { kind?: string | undefined } = {}): ModelRow[] {
  return listModels(config.models, config.providers)
    .filter((m) => !o.kind || m.spec.kind === o.kind)
    .map(({ id, spec }) => ({
      id,
      provider: id === null ? null : spec.provider,
      kind: spec.kind,
      model: spec.model,
      nativeDims: spec.nativeDims,
      dims: {
        provider: spec.supportsDimensions && !spec.nativeDimsRange ? (spec.providerDims ?? 'up-to-native') : null,
        truncate: spec.matryoshka,
        nativeRange: spec.nativeDimsRange ?? null,
      },
      maxInputTokens: spec.maxInputTokens,
      maxInputsPerRequest: spec.maxInputsPerRequest,
      maxTokensPerRequest: spec.maxTokensPerRequest,
      priceSyncPerMTok: spec.priceSyncPerMTok,
      priceBatchPerMTok: spec.priceBatchPerMTok,
      batchApi: hasBatchApi(spec.kind),
      inputTypes: spec.inputTypes,
      deployment: spec.deployment ?? null,
    }));
}

/** `1536: 1-1536`, `1024: 256,512,1024,2048`, `1536 only`: the sizes a model gives without padding. */
function dimsText(r: ModelRow): string {
  if (r.nativeDims === null) return 'probed on first use';
  if (r.dims.nativeRange) return `${r.dims.nativeRange[0]}-${r.dims.nativeRange[1]}`;
  const ask = r.dims.provider === 'up-to-native' ? `1-${r.nativeDims}` : r.dims.provider?.join(',');
  if (ask) return `${r.nativeDims}: ${ask}${r.dims.truncate && r.dims.provider !== 'up-to-native' ? ' (others truncated)' : ''}`;
  return r.dims.truncate ? `${r.nativeDims}: 1-${r.nativeDims} truncated` : `${r.nativeDims} only`;
}

const price = (x: number | null) => (x === null ? '-' : `$${x}`);

function show(rows: ModelRow[]): string {
  const line = (r: ModelRow) => [
    r.id ?? `${r.kind}/${r.model}`,
    r.kind,
    dimsText(r),
    r.maxInputTokens,
    `${r.maxInputsPerRequest} / ${r.maxTokensPerRequest}`,
    `${price(r.priceSyncPerMTok)} / ${price(r.priceBatchPerMTok)}`,
    r.batchApi ? 'yes' : 'no',
    r.inputTypes ? 'query/document' : '-',
  ];
  const headers = ['MODEL', 'KIND', 'DIMS (native: without padding)', 'MAX INPUT TOKENS', 'PER REQUEST (inputs / tokens)', '$/1M SYNC / BATCH', 'BATCH API', 'INPUT TYPES'];
  const usable = rows.filter((r) => r.id !== null);
  const catalogue = rows.filter((r) => r.id === null);
  const parts = [usable.length ? table(headers, usable.map(line)) : 'no usable models (check --kind)'];
  if (catalogue.length)
    parts.push(`\nIn the catalogue, served once a provider of their kind is configured (docs/providers.md):\n${table(headers, catalogue.map(line))}`);
  return parts.join('\n');
}

const HELP = `
Each row is a model id for --model (ingest, reembed, search), with:
  DIMS          the native size, then the sizes the model gives without padding: asked of the
                provider (a dimensions parameter) or "truncated" (a Matryoshka prefix, re-normalised).
                Any larger size is zero-padded; any other smaller size is refused.
  PER REQUEST   how many inputs and tokens embedq packs into one provider request.
  $/1M          USD per 1M input tokens on the sync endpoint and through the batch API ("-": none).
  BATCH API     whether --mode batch|auto can use the provider's batch API.
  INPUT TYPES   queries and documents are embedded differently (search sends "query").
Figures come from src/providers/catalogue.ts, each with its source and date; override any of them
in the config file under "models" ("openai/text-embedding-3-small": {"priceSyncPerMTok": 0.02}).
Needs no Redis or Postgres.

Examples:
  embedq models
  embedq models --kind voyage
  embedq models --json | jq '.[] | select(.batchApi) | .id'`;

export function register(program: Command, env: CommandEnv): void {
  program
    .command('models')
    .description('the model catalogue and the configured providers: dims, limits, prices, batch support')
    .option('--kind <kind>', 'only models of this provider kind (openai, cohere, voyage, mistral, jina, gemini, local, …)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', HELP)
    .action(env.plain(async (config, out, o: { kind?: string }) => (out.result(runModels(config, o), show), 0)));
}
