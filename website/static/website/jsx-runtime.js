/*
 * window.ReactJSXRuntime: what higlass/dist/hglib.js (a UMD bundle) takes as "react/jsx-runtime".
 * React 18 ships no browser build of its JSX runtime, so this one is made from
 * React.createElement: jsx(type, props, key) = createElement(type, {...props, key}).
 * Load it after react.production.min.js and before hglib.
 */
(function (React) {
  "use strict";
  function jsx(type, props, key) {
    var config = props;
    if (key !== undefined) {
      config = {};
      for (var name in props) {
        if (Object.prototype.hasOwnProperty.call(props, name)) config[name] = props[name];
      }
      config.key = key;
    }
    return React.createElement(type, config);
  }
  window.ReactJSXRuntime = { jsx: jsx, jsxs: jsx, jsxDEV: jsx, Fragment: React.Fragment };
})(window.React);
