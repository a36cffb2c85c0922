// An exposure level as a symbol and a word (docs/exposure.md §7); colour only adds to them.
import { Text } from 'ink';
import type { ExposureAssessment, ExposureLevel } from '../../core/exposure.js';
import { exposureLabel } from '../../core/exposure-text.js';
import { useText } from '../use-text.js';

export const LEVEL_COLOURS: Readonly<Record<ExposureLevel, string>> = {
  'e2e-verified': 'green',
  'e2e-tofu': 'green',
  'pgp-external': 'cyan',
  'tls-only': 'yellow',
  cleartext: 'red',
  alarm: 'red',
};

export function ExposureLabel({ assessment, width }: { assessment: ExposureAssessment; width?: number }) {
  const { language } = useText();
  const label = exposureLabel(assessment, language);
  const shown = width === undefined ? label : label.length > width ? `${label.slice(0, width - 1)}…` : label.padEnd(width);
  return (
    <Text color={LEVEL_COLOURS[assessment.level]} bold={assessment.level === 'alarm'}>
      {shown}
    </Text>
  );
}
