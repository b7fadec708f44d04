// Camera scanning with the browser's own BarcodeDetector (no library, no network).
// Feature-detected: `cameraSupport()` says whether the button should be offered.

export async function cameraSupport() {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return false;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

/** Reads QR codes from the rear camera into `video`; calls onCode(text) once per new code. */
export class CameraScanner {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.last = { text: "", at: 0 };
    this._frame = null;
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    this.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this._loop();
  }

  stop() {
    cancelAnimationFrame(this._frame);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  async _loop() {
    if (!this.stream) return;
    try {
      const codes = await this.detector.detect(this.video);
      const text = codes[0]?.rawValue;
      const now = Date.now();
      // the same code stays in view for a while: report it once every 3 s at most
      if (text && (text !== this.last.text || now - this.last.at > 3000)) {
        this.last = { text, at: now };
        this.onCode(text);
      }
    } catch {
      // a frame that is not ready yet; try the next one
    }
    this._frame = requestAnimationFrame(() => this._loop());
  }
}
