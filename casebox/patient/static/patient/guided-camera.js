// Follow-up photos: the phone's camera with the earlier photo laid faintly over it,
// so the new photo is taken from the same distance and angle. Where the browser has
// no camera access the ordinary "take or choose a photo" field remains.

const box = document.getElementById("guided-camera");
if (box && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  box.hidden = false;
  const camera = box.querySelector(".camera");
  const video = box.querySelector("video");
  const form = document.querySelector(`form[data-upload="${box.dataset.view}"]`);
  let stream = null;

  const close = () => {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    camera.hidden = true;
  };

  box.querySelector('[data-action="open"]').addEventListener("click", async () => {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 3000 }, height: { ideal: 3000 } },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
    camera.hidden = false;
  });

  box.querySelector('[data-action="capture"]').addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      if (!blob) return;
      const photo = new File([blob], "follow-up.jpg", { type: "image/jpeg", lastModified: Date.now() });
      form.dispatchEvent(new CustomEvent("casebox:photo", { detail: photo }));
      close();
    }, "image/jpeg", 0.92);
  });

  box.querySelector('[data-action="close"]').addEventListener("click", close);
}
