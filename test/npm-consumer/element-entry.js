// An app with the element: everything (tfjs, Lit, three.js, the shaders).
import 'nst-video';
