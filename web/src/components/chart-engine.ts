import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

// Only what the bar charts use: Chart.js tree-shaken to its bar controller, loaded with the dashboard only,
// so the work list on a phone does not download it.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export { Chart };
