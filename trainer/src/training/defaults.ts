/**
 * Every default of `nst train` and `nst eval`, in one place (the CLI shows them in --help).
 *
 * Loss weights are for VGG19 with Keras "caffe" input (0..255, BGR, mean subtracted), Gram matrices
 * divided by C*H*W, content loss the mean squared feature difference, style loss the sum over
 * layers of the mean squared Gram difference and total variation the mean squared difference of
 * neighbouring output pixels (0..255). See defaults' justification in DEFAULT_STYLE_WEIGHT.
 */
import { fileURLToPath } from 'node:url';
import type { ArchitecturePresetName, WeightStorage } from 'nst-video/model';
import type { CropMode } from './dataset.js';

export const VGG_LAYER_TAPS = [
  'relu1_1', 'relu1_2',
  'relu2_1', 'relu2_2',
  'relu3_1', 'relu3_2', 'relu3_3', 'relu3_4',
  'relu4_1', 'relu4_2', 'relu4_3', 'relu4_4',
  'relu5_1', 'relu5_2', 'relu5_3', 'relu5_4',
] as const;
export type VggTap = (typeof VGG_LAYER_TAPS)[number];

/** Where `npm run setup:vgg` puts the loss network: .cache/vgg19 in the project, wherever nst runs from. */
export const DEFAULT_VGG_PATH = fileURLToPath(new URL('../../../.cache/vgg19', import.meta.url));
export const DEFAULT_ARCH: ArchitecturePresetName = 'full';
/** Training crop side in pixels. */
export const DEFAULT_SIZE = 256;
/** The smallest crop side train and eval take: VGG19's deepest style layer is 16x smaller. */
export const MIN_CROP_SIZE = 32;
export const DEFAULT_BATCH = 4;
export const DEFAULT_EPOCHS = 2;
export const DEFAULT_LEARNING_RATE = 1e-3;
/** Steps the exported weights are averaged over (weight-average.ts); 0: the last step's. */
export const DEFAULT_AVERAGE_STEPS = 0;
export const DEFAULT_CONTENT_LAYER: VggTap = 'relu4_2';
/** The style loss's layers (Gatys et al.), as `nst eval` measures it: the gallery's protocol. */
export const DEFAULT_STYLE_LAYERS: readonly VggTap[] = ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'];
/**
 * `nst train` leaves relu5_1 out: on every painting we measured (`nst eval`'s styleLossByLayer) it
 * holds under 0.1 % of the style loss, so its gradient moves nothing, yet reaching it costs the
 * VGG passes three more layers (conv4_3, conv4_4, conv5_1) each way past the content layer:
 * a slim 256 px step is 11 % faster without it.
 */
export const DEFAULT_TRAINING_STYLE_LAYERS: readonly VggTap[] = DEFAULT_STYLE_LAYERS.filter((tap) => tap !== 'relu5_1');
/**
 * The pytorch/examples fast_neural_style weights (content 1e5, style 1e10) are for torchvision
 * input scaling, (x/255 - mean)/std with std ~ 0.226: caffe-mode features are ~57.7x larger, so
 * content MSE grows by 57.7^2 ~ 3.3e3 and Gram MSE by 57.7^4 ~ 1.1e7. The same balance here is
 * content ~30 and style ~900; tuned on starry_night (see demo/models/*\/TRAINING.md).
 */
export const DEFAULT_CONTENT_WEIGHT = 30;
/**
 * `--content-weight auto` (content-weight.ts): the weight per unit of the painting's identity style
 * loss, measured on the first AUTO_CONTENT_WEIGHT_PHOTOS training photos. Calibrated on the_scream:
 * identity 271,425 on the first 16 ImageNet photos (256 px, style long side 512), where content
 * weight 300 gave style 8 % of identity at content 280,000 on the gallery protocol.
 */
export const AUTO_CONTENT_WEIGHT_PER_IDENTITY_LOSS = 300 / 271_425;
export const AUTO_CONTENT_WEIGHT_PHOTOS = 16;
export const DEFAULT_STYLE_WEIGHT = 900;
export const DEFAULT_TV_WEIGHT = 0;
export const DEFAULT_SEED = 0;
/** Seconds between checkpoints. */
export const DEFAULT_CHECKPOINT_SECONDS = 300;
export const DEFAULT_PREVIEW_EVERY = 100;
export const DEFAULT_EXPORT_STORAGE: WeightStorage = 'float16';
export const DEFAULT_CROP: CropMode = 'random';
/** `--crop-zoom`: how far random crops zoom in at most (dataset.ts, CropSettings); 1 never. */
export const DEFAULT_CROP_ZOOM = 1;
/**
 * Memory for the photos' content features with --crop center, in MiB: a photo's relu4_2 features
 * at 256 px take 2 MiB (32x32x512 floats), so this keeps 1000 photos (8000 at 128 px).
 */
export const DEFAULT_CONTENT_CACHE_MIB = 2048;
/**
 * `nst train --precision`: what the native CPU convolutions compute in (native-kernels.ts,
 * ConvolutionPrecision). auto is bfloat16 (mixed precision) where the CPU has bfloat16 dot
 * products, float32 elsewhere and on other backends.
 */
export const TRAINING_PRECISIONS = ['auto', 'float32', 'bfloat16'] as const;
export type TrainingPrecision = (typeof TRAINING_PRECISIONS)[number];
export const DEFAULT_PRECISION: TrainingPrecision = 'auto';
/**
 * Number of pixels a wasm micro-batch may hold: one 256 px photo. Two would fit (a `full` step at
 * 256 px peaks at 1.0 GiB of wasm's 4 GiB heap with one photo a pass, 1.8 GiB with two) and are
 * ~5 % faster at 2 threads on an idle 2-core machine, as fast for two runs side by side at a
 * thread each (0.95 against 0.93 steps/s each), but 15 % slower at 1 thread when a third process
 * competes: twice the tensors fall out of the shared cache, and the padding and ReLU gradients,
 * sums and Gram products take up to twice as long per photo. One is the robust choice.
 */
export const WASM_MICRO_BATCH_PIXELS = 256 * 256;
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;
/** How many photos `nst eval` uses at most, at --size. */
export const DEFAULT_EVAL_IMAGES = 32;
