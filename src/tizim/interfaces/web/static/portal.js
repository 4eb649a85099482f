// Progressive enhancement only: every page works without JavaScript.
// After a form comes back with problems, move keyboard focus to the first one so that
// screen-reader and keyboard users land on it.
document.addEventListener("DOMContentLoaded", function () {
  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) { invalid.focus(); }
});
