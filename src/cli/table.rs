//! The aligned text tables that the commands print.

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    print_table_with_max_widths(header, rows, [usize::MAX; N]);
}

/// Prints rows under a header, each column as wide as its widest cell of at
/// most `max_widths` characters. A longer cell is printed whole, and shifts
/// only the rest of its own row to the right.
pub fn print_table_with_max_widths<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
    max_widths: [usize; N],
) {
    let mut widths = header.map(|title| title.chars().count());
    for row in rows {
        for ((width, cell), max_width) in widths.iter_mut().zip(row).zip(max_widths) {
            let length = cell.chars().count();
            if length <= max_width {
                *width = (*width).max(length);
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        super::print_line(padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
