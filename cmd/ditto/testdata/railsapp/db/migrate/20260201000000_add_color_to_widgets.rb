# The pull request's migration: pending on the production golden.
class AddColorToWidgets < ActiveRecord::Migration[6.1]
  def change
    add_column :widgets, :color, :string
  end
end
