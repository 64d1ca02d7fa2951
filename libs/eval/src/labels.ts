/** FEVER labels between libs/fever's strings and the contracts' enum. */
import { common } from '@memorize/contracts';
import type { Label, Prediction } from '@memorize/fever';

const TO_PROTO: Record<Label, common.Label> = {
  SUPPORTS: common.Label.LABEL_SUPPORTS,
  REFUTES: common.Label.LABEL_REFUTES,
  'NOT ENOUGH INFO': common.Label.LABEL_NOT_ENOUGH_INFO,
};

export function labelToProto(label: Prediction): common.Label {
  return label === undefined ? common.Label.LABEL_UNSPECIFIED : TO_PROTO[label];
}

/** undefined for LABEL_UNSPECIFIED (an invalid answer). */
export function labelFromProto(label: common.Label): Prediction {
  for (const [k, v] of Object.entries(TO_PROTO)) if (v === label) return k as Label;
  return undefined;
}
