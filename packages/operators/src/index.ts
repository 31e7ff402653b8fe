export { enrichOperator } from './enrich/enrich-operator.js';
export { enrichConfigSchema, type EnrichConfig } from './enrich/enrich-config.js';
export { PhoneNormalizer, type PhoneInfo } from './enrich/phone-normalizer.js';
export { maskOperator } from './mask/mask-operator.js';
export { maskConfigSchema, type MaskConfig, NUMBER_FIELDS, CONTENT_FIELDS } from './mask/mask-config.js';
export { correlateOperator } from './correlate/correlate-operator.js';
export { correlateConfigSchema, type CorrelateConfig } from './correlate/correlate-config.js';

import { enrichOperator } from './enrich/enrich-operator.js';
import { maskOperator } from './mask/mask-operator.js';
import { correlateOperator } from './correlate/correlate-operator.js';

/** The operators of this package, for a registry. */
export const callOperators = [enrichOperator, correlateOperator, maskOperator] as const;
