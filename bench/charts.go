package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var palette = []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {0, 0, 0, 255}}

// charts draws acknowledged latency and caller stall against size, one
// line per peer (log scales), as SVG.
func charts(dir string, sizes []sizeSpec, results []result) error {
	for _, c := range []struct {
		file, title, y string
		pick           func(r result) time.Duration
	}{
		{"latency.svg", "Acknowledged save latency (median)", "ms, log scale", func(r result) time.Duration { return median(r.ack) }},
		{"stall.svg", "Stall on the caller (median)", "ms, log scale", func(r result) time.Duration { return median(r.stall) }},
	} {
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = "save size, bytes (log scale)"
		p.Y.Label.Text = c.y
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
		p.Legend.Top, p.Legend.Left = true, true
		for i, pr := range peers() {
			var pts plotter.XYs
			for _, sz := range sizes {
				for _, r := range results {
					if r.peer == pr.name() && r.size == sz.label && r.err == nil {
						ms := float64(c.pick(r).Microseconds()) / 1000
						pts = append(pts, plotter.XY{X: float64(sz.bytes), Y: math.Max(ms, 0.001)})
					}
				}
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color, points.Color = palette[i%len(palette)], palette[i%len(palette)]
			if pr.name() == "savekit" {
				line.Width = vg.Points(2.5)
			}
			p.Add(line, points)
			p.Legend.Add(pr.name(), line, points)
		}
		if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, c.file)); err != nil {
			return fmt.Errorf("chart %s: %w", c.file, err)
		}
	}
	return nil
}
