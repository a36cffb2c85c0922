// docs/gateway.md §6: the facts the relay stores and returns are, type for type,
// the inputs of the exposure index (src/core/exposure.ts). This file only compiles
// when the zod-inferred types stay assignable; it has no runtime content.

import type { SmtpInboundArrivalFacts, SmtpOutboundFacts } from '../../api/facts.js';
import type { SmtpInboundRouteFacts, SmtpOutboundRouteFacts } from '../../core/exposure.js';

export const inboundFactsAreRouteFacts = (facts: SmtpInboundArrivalFacts): SmtpInboundRouteFacts => facts;
export const outboundFactsAreRouteFacts = (facts: SmtpOutboundFacts): SmtpOutboundRouteFacts => facts;
