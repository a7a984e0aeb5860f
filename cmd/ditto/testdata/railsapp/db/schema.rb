ActiveRecord::Schema.define(version: 2026_02_01_000000) do
  enable_extension "plpgsql"

  create_table "widgets", force: :cascade do |t|
    t.string "name"
    t.string "color"
  end
end
