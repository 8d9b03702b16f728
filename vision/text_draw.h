// Measuring and drawing markup text (markup.h) with cairo's toy text API in DejaVu Sans. Internal
// to vision/: only built with cairo.
//
// A text's box is matplotlib's: as wide as the advance of its runs, and at least as tall as the ink
// of "lp" in the base font (so labels with and without descenders line up), grown to the ink of
// raised, lowered or accented runs. Alignment works on the box rotated by `rotation` degrees
// (matplotlib's rotation_mode "default"): the rotated box's left/centre/right and
// top/centre/bottom edge goes on the anchor; "baseline" puts the unrotated baseline there.
#pragma once
#ifdef EMBER_HAVE_CAIRO
#include <cairo.h>

#include <string>

#include "vision/color.h"
#include "vision/figure.h"

namespace ember::vision::detail {

struct TextBox {
  double width = 0, ascent = 0, descent = 0;  // pixels; ascent above, descent below the baseline
};

TextBox measure_text(cairo_t* cr, const std::string& markup, double size_px, bool bold = false);

// The axis-aligned size of the text's box after rotation (for layout).
PixelRect rotated_size(const TextBox& box, double rotation_degrees);

// Draws the text with its anchor at (x, y) (pixels, y down) and returns the rotated box drawn.
PixelRect draw_text(cairo_t* cr, const std::string& markup, double x, double y, double size_px, const Color& color,
                    HAlign halign, VAlign valign, double rotation_degrees = 0, bool bold = false);

void set_color(cairo_t* cr, const Color& color, double alpha = 1);

}  // namespace ember::vision::detail
#endif
