// The dashboard's ECharts: only what web/static/dashboard.js uses — bar
// charts (months of a trend, townships against their target, coloured by
// traffic light) on a cartesian grid, drawn on canvas. Tree-shaken by
// esbuild (build.mjs); each further chart type costs 5–40 KB, so add one
// only with its page. docs/dashboard.md.
import { init, getInstanceByDom, use } from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

use([BarChart, GridComponent, CanvasRenderer]);

// getInstanceByDom lets the browser tests read what a chart shows.
window.echarts = { init, getInstanceByDom };
