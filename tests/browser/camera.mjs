// A video file for Chromium's fake camera (--use-file-for-fake-video-capture): frames with
// print-like detail, mid brightness and no saturated pixels, so captures pass the quality gate
// (sharpness on a 640 px grey copy, brightness 45-230, under 10% of pixels at 250 or more).
import { writeFileSync } from 'node:fs';

export function writeY4m(path, width = 1280, height = 720, frames = 2) {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F15:1 Ip A1:1 C420jpeg\n`);
  const parts = [header];
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed;
  };
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(width * height);
    // 4x4 blocks of random grey survive the area-averaged downscale and JPEG.
    const block = 4;
    for (let by = 0; by < height; by += block) {
      for (let bx = 0; bx < width; bx += block) {
        const v = 70 + (rand() % 130);
        for (let dy = 0; dy < block && by + dy < height; dy++) y.fill(v, (by + dy) * width + bx, (by + dy) * width + Math.min(bx + block, width));
      }
    }
    const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
    parts.push(Buffer.from('FRAME\n'), y, chroma);
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}
