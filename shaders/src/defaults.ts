// The passes' parameters and their defaults, without three.js: `<nst-video>`, its transcoder and
// the `nst` command read them from here (`nst-video-shaders/defaults`) without loading a renderer.

/** 0..1: how much of the stylised picture replaces the original frame (strength mix). */
export const DEFAULT_STRENGTH = 1;

/** 0..1: weight of the history where the input is still (temporal smoothing); 0 turns it off. */
export const DEFAULT_SMOOTHING = 0.5;
/** Temporal smoothing's motion tuning: thresholds on 0..1 display luma, the block in output pixels. */
export const DEFAULT_MOTION_THRESHOLD = 0.04;
export const DEFAULT_MOTION_RANGE = 0.05;
export const DEFAULT_MOTION_BLOCK = 2;
/** Largest motion block (the motion pass loops over block x block pixels). */
export const MAX_MOTION_BLOCK = 16;

/** How colour matching matches colours. */
export type ColorMatchMode = 'luminance' | 'mean-variance';
export const COLOR_MATCH_MODES: readonly ColorMatchMode[] = ['luminance', 'mean-variance'];
/** 0..1: mix between the stylised colours (0) and the colour-matched ones (1). */
export const DEFAULT_COLOR_MATCH = 0;
/** Keep the original's chroma, take the style's light and texture. */
export const DEFAULT_COLOR_MATCH_MODE: ColorMatchMode = 'luminance';
