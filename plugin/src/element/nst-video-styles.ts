/** Styles of `<nst-video>`'s shadow root. Custom properties are listed on the element class. */
import { css } from 'lit';

export const nstVideoStyles = css`
  :host {
    display: inline-block;
    position: relative;
    box-sizing: border-box;
    min-width: 160px;
    min-height: 90px;
    background: var(--nst-video-background, #000);
    color: var(--nst-video-placeholder-color, #ddd);
    overflow: hidden;
    contain: content;
  }
  :host([hidden]) {
    display: none;
  }
  .stage {
    position: relative;
    width: 100%;
    height: 100%;
  }
  canvas {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: var(--nst-video-object-fit, contain);
  }
  :host([mirrored]) canvas {
    transform: scaleX(-1);
  }
  .placeholder {
    position: absolute;
    inset: 0;
    display: flex;
    align-items: center;
    justify-content: center;
    text-align: center;
    padding: 1em;
    font: var(--nst-video-placeholder-font, 14px/1.4 system-ui, sans-serif);
  }
  .placeholder[hidden] {
    display: none;
  }
  /* Frames are read from the source video; the canvas shows them. */
  video.source,
  ::slotted(video),
  slot[name='media'] {
    display: none;
  }
`;
