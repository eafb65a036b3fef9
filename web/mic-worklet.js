// Audio worklet: the microphone at the context's rate in, 16 kHz mono s16le
// frames of 100 ms (3200 bytes) out to the page. Each output sample is the
// mean of the input samples it covers (a box filter against aliasing).
class MicTo16k extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / 16000; // input samples per output sample
    this.pos = 0; // where the next output sample starts, in input samples from the block start
    this.acc = 0;
    this.n = 0;
    this.frame = new Int16Array(1600);
    this.fill = 0;
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      this.acc += ch[i];
      this.n++;
      if (i + 1 >= this.pos + this.step) {
        const v = Math.max(-1, Math.min(1, this.acc / this.n));
        this.frame[this.fill++] = v < 0 ? v * 32768 : v * 32767;
        this.acc = 0;
        this.n = 0;
        this.pos += this.step;
        if (this.fill === this.frame.length) {
          this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
          this.frame = new Int16Array(1600);
          this.fill = 0;
        }
      }
    }
    this.pos -= ch.length;
    return true;
  }
}
registerProcessor('mic-to-16k', MicTo16k);
