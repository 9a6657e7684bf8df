// An app that only repaints images: the loader entry, which must bring neither Lit nor three.js.
import { loadStyleModel } from 'nst-video/loader';

console.log(loadStyleModel);
