// countycare: small progressive enhancements; every page works without it.
(function () {
  "use strict";
  // Ask before actions that cannot be undone (merging records, disabling accounts).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.action && /\/(merge|disable|end)$/.test(f.action) && !window.confirm(document.documentElement.lang === "en" ? "Are you sure?" : "确定要执行此操作吗？")) {
      e.preventDefault();
    }
  });
  // Normalise an ID number as it is typed: upper-case X, no spaces.
  var id = document.getElementById("id_number");
  if (id) {
    id.addEventListener("change", function () { id.value = id.value.replace(/\s+/g, "").toUpperCase(); });
  }
})();
