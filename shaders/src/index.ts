// nst-video-shaders: three.js passes for stylised video, one TSL source for WebGPU and WebGL2.
export { NstStylizeChain } from './stylize-chain.js';
export { TemporalSmoothingNode, temporalSmoothing } from './temporal-smoothing-node.js';
export { ColorMatchNode, colorMatch } from './color-match-node.js';
export { strengthMix } from './strength-mix.js';
export {
  DEFAULT_STRENGTH,
  DEFAULT_SMOOTHING,
  DEFAULT_MOTION_THRESHOLD,
  DEFAULT_MOTION_RANGE,
  DEFAULT_MOTION_BLOCK,
  MAX_MOTION_BLOCK,
  COLOR_MATCH_MODES,
  DEFAULT_COLOR_MATCH,
  DEFAULT_COLOR_MATCH_MODE,
} from './defaults.js';
export type { ColorMatchMode } from './defaults.js';
export { BT601_LUMA, luma, rgbToYuv, yuvToRgb, toDisplay, fromDisplay, displayEncodingOf } from './color-spaces.js';
export { sampleBilinear, texelSize } from './sampling.js';
