import { lazy, Suspense, useEffect, useState, type ComponentProps } from 'react';

const Chart = lazy(() => import('./Chart'));

/**
 * A chart whose code (ECharts, a chunk of its own) is fetched only after the page has painted
 * once: the figures and tables around it show first. Loaded at once, the chunk's evaluation
 * landed between the portfolio's data and its first frame and held the figures back by a few
 * hundred milliseconds (issue 17's first_load_ms). The space is kept, so nothing moves.
 */
export function LazyChart(props: ComponentProps<typeof Chart>) {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    // After the next frame is drawn (a rAF callback runs before it; the timeout after it).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => { timer = setTimeout(() => setPainted(true), 0); });
    return () => { cancelAnimationFrame(frame); if (timer !== undefined) clearTimeout(timer); };
  }, []);
  const placeholder = <div style={{ width: '100%', height: props.height ?? 280 }} data-chart-pending />;
  return painted ? <Suspense fallback={placeholder}><Chart {...props} /></Suspense> : placeholder;
}
